"""Domain errors to HTTP answers, one mapping for every HTTP function (owners' routes and the rerun)."""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import azure.functions as func

from chargeback.errors import (
    Forbidden,
    InvalidDepartment,
    InvalidMonth,
    RunInProgress,
    StorageUnavailable,
    Unauthenticated,
    UnknownInvoice,
)

_log = logging.getLogger(__name__)
PRIVATE = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
_STATUS = ((Unauthenticated, 401), (Forbidden, 403), (InvalidMonth, 400), (InvalidDepartment, 400),
           (UnknownInvoice, 404), (RunInProgress, 409))


def json_response(status: int, document: dict, headers: dict | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(document), status_code=status, mimetype="application/json",
                             headers={**PRIVATE, **(headers or {})})


def error_response(exc: Exception) -> func.HttpResponse:
    """The answer for a domain error; 404 carries the same body whether an invoice is missing or hidden."""
    if isinstance(exc, StorageUnavailable):
        _log.error("request failed: %s", exc)
        return json_response(503, {"error": "storage is unavailable; try again shortly"}, {"Retry-After": "30"})
    status = next(code for kind, code in _STATUS if isinstance(exc, kind))
    return json_response(status, {"error": str(exc)})


_HANDLED = (StorageUnavailable, *(kind for kind, _ in _STATUS))


def answer(build: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    try:
        return build()
    except _HANDLED as exc:
        return error_response(exc)


async def answer_async(build: Callable[[], Awaitable[func.HttpResponse]]) -> func.HttpResponse:
    try:
        return await build()
    except _HANDLED as exc:
        return error_response(exc)
