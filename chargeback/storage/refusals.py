"""Outage or refusal: only an outage may fail an ingest batch; a refused row is set aside.

An outage (no connection, a timeout, a 5xx, throttling, lost credentials) says nothing about the
rows: the host retries the batch. A refusal (the SDK cannot encode a row, or storage answers 4xx
about it) will repeat on every retry, so retrying would halt the partition: the transaction is split
down to the refused row, which the caller dead-letters with storage's error as its reason.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

# 4xx answers that are about the account, not the row: 401/403 (credentials), 404 (table gone),
# 408 (timeout) and 429 (throttling, https://learn.microsoft.com/rest/api/storageservices/table-service-error-codes).
_NOT_ABOUT_THE_ROW = frozenset({401, 403, 404, 408, 429})
# A transaction's body is limited to 4 MiB (Table service "Performing entity group transactions");
# the multipart framing of each operation is counted as this many bytes on top of its JSON.
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024 - 64 * 1024
OPERATION_OVERHEAD = 512

Entity = dict[str, Any]
Refused = list[tuple[Entity, str]]


def refusal_reason(error: BaseException) -> str | None:
    """Storage's reason when ``error`` refuses the rows themselves; None when it is an outage."""
    if isinstance(error, (TypeError, ValueError, OverflowError)):   # the SDK would not encode a row
        return f"storage refused the record: {type(error).__name__}: {_first_line(str(error))}"
    if isinstance(error, (ServiceRequestError, ServiceResponseError)) or not isinstance(error, HttpResponseError):
        return None
    status = error.status_code
    if status is None or not 400 <= status < 500 or status in _NOT_ABOUT_THE_ROW:
        return None
    error_code = getattr(error, "error_code", None)   # set by the SDK from the x-ms-error-code header
    code = f" {error_code}" if error_code else ""
    return f"storage refused the record: {status}{code}: {_first_line(error.message or '')}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300]


def submit_or_split(submit: Callable[[list[Entity]], None], chunk: list[Entity]) -> Refused:
    """Submit one transaction; on a refusal split it in halves down to the refused rows (returned)."""
    try:
        submit(chunk)
    except Exception as error:
        reason = refusal_reason(error)
        if reason is None:
            raise
        if len(chunk) == 1:
            return [(chunk[0], reason)]
        middle = len(chunk) // 2
        return submit_or_split(submit, chunk[:middle]) + submit_or_split(submit, chunk[middle:])
    return []


def entity_bytes(entity: Entity) -> int:
    """What an entity adds to a transaction's body: its JSON (non-ASCII escaped, as the SDK sends it)."""
    return len(json.dumps(entity, default=str)) + OPERATION_OVERHEAD
