"""`chargeback serve` over real HTTP for e2e tests: fresh tables with the month's events, the host served on a
free loopback port, and requests signed in as App Service's Easy Auth would sign them in."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chargeback.config.model import ChargebackConfig
from chargeback.owners.identity import encode_principal
from devhost.http_host import make_server, serve_in_thread
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

from .conftest import OCTOBER

ADMIN, ALICE, BOB, CAROL = "finance@example.com", "alice@example.com", "bob@example.com", "carol@example.com"


class Answer:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def call(base: str, path: str, who: str | None = None, roles=(), method="GET", headers=None,
         groups: tuple[str, ...] = ()) -> Answer:
    """One request, signed in as ``who`` (with ``roles`` and ``groups``) when given; errors are answers too."""
    sent = dict(headers or {})
    if who:
        sent["X-MS-CLIENT-PRINCIPAL"] = encode_principal(who, roles, groups)
    request = urllib.request.Request(base + path, method=method, headers=sent, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def serve(host: LocalHost):
    server = make_server(host.http, "127.0.0.1", 0)
    serve_in_thread(server)
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def month_in_storage(azurite, config: ChargebackConfig) -> Iterator[None]:
    """Fresh tables on ``azurite`` with ``config`` saved and October's events stored; local sign-in."""
    from chargeback.wiring import reset_services, services
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHARGEBACK_STORAGE", azurite.connection_string)
        env.setenv("CHARGEBACK_TABLE_PREFIX", "t" + uuid.uuid4().hex[:10])
        env.setenv("CHARGEBACK_LOCAL_AUTH", "loopback")
        env.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
        reset_services()
        services().config.save(config)
        assert ingest_lines(OCTOBER).stored == len(OCTOBER)
        yield
        reset_services()


@contextmanager
def served(host: LocalHost) -> Iterator[str]:
    """``host`` served until the block ends (then the host is closed too); yields the base URL."""
    server, base = serve(host)
    yield base
    server.shutdown()
    server.server_close()
    host.close()
