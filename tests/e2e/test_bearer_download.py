"""A script downloads its department's invoice with an Entra bearer token the product validates itself
(App Service authentication off: nothing but the token vouches for the caller)."""
from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid

import pytest

from chargeback.config.loading import parse_config
from chargeback.storage.documents import XLSX
from devhost.http_host import make_server, serve_in_thread
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost
from tests.unit.owners.entra_keys import CLIENT_ID, TENANT, KeySet, new_key, token

from .conftest import CONFIG, OCTOBER


@pytest.fixture(scope="module")
def site(azurite):
    from chargeback.wiring import reset_services, services
    keys = KeySet()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHARGEBACK_STORAGE", azurite.connection_string)
        env.setenv("CHARGEBACK_TABLE_PREFIX", "t" + uuid.uuid4().hex[:10])
        for name in ("CHARGEBACK_LOCAL_AUTH", "WEBSITE_AUTH_ENABLED", "APPLICATIONINSIGHTS_CONNECTION_STRING"):
            env.delenv(name, raising=False)
        env.setenv("CHARGEBACK_ENTRA_TENANT_ID", TENANT)
        env.setenv("CHARGEBACK_ENTRA_AUDIENCE", f"{CLIENT_ID},api://{CLIENT_ID}")
        env.setenv("CHARGEBACK_ENTRA_JWKS_URL", keys.url)
        reset_services()
        services().config.save(parse_config(CONFIG))
        assert ingest_lines(OCTOBER).stored == len(OCTOBER)
        host = LocalHost(retry_delay_scale=0.001)
        assert host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
        server = make_server(host.http, "127.0.0.1", 0)
        serve_in_thread(server)
        yield f"http://127.0.0.1:{server.server_address[1]}", keys
        server.shutdown()
        server.server_close()
        host.close()
        reset_services()
    keys.close()


def get(url: str, bearer: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def test_an_owner_script_downloads_its_invoice_with_a_bearer_token(site):
    base, keys = site
    bob = token(keys.keys["key-1"], preferred_username="bob@example.com")   # owner of sales
    status, content_type, body = get(f"{base}/api/invoices/2026-10/sales", bob)
    assert status == 200 and content_type.startswith(XLSX) and body[:2] == b"PK"
    assert get(f"{base}/api/invoices/2026-10/marketing", bob)[0] == 404      # not bob's


def test_without_a_valid_token_the_routes_are_401(site):
    base, keys = site
    assert get(f"{base}/api/invoices/2026-10")[0] == 401
    expired = token(keys.keys["key-1"], preferred_username="bob@example.com", exp=int(time.time()) - 600,
                    iat=int(time.time()) - 4000)
    forged = token(new_key(), preferred_username="bob@example.com")
    other_app = token(keys.keys["key-1"], preferred_username="bob@example.com", aud="some-other-app")
    for bad in (expired, forged, other_app):
        assert get(f"{base}/api/invoices/2026-10/sales", bad)[0] == 401
