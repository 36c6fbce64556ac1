"""With CHARGEBACK_TABLE_ENDPOINT / CHARGEBACK_BLOB_ENDPOINT the CLI uses those endpoints with
DefaultAzureCredential, never a local Azurite of its own.

The real token path, end to end: Azurite in OAuth mode (`--oauth basic`, HTTPS with a certificate the test
makes) checks each bearer token's issuer, audience and lifetime (not its signature, Azurite README "OAuth
Configuration"); DefaultAzureCredential gets its token from a managed-identity endpoint the test serves, the
App Service protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER) that a Function App's identity uses in Azure.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import subprocess
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from devhost import local_stack
from devhost.azurite import ACCOUNT, Azurite, wait_until_listening
from devhost.cli import main
from tests.conftest import ROOT
from tests.fixtures.loopback_json import JsonServer

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
IDENTITY_HEADER = "test-identity-header"


def _self_signed(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class TokenEndpoint:
    """The App Service managed-identity endpoint: GET ?resource=...&api-version=2019-08-01 -> a token."""

    def __init__(self, audience: str = "https://storage.azure.com"):
        self.audience = audience
        self.requests: list[dict] = []
        self.server = JsonServer(self._token)

    def _token(self, path, headers) -> dict:
        query = parse_qs(urlparse(path).query)
        self.requests.append({"resource": query.get("resource", [""])[0], "header": headers.get("X-IDENTITY-HEADER")})
        now = int(time.time())
        token = jwt.encode({"aud": self.audience, "iss": f"https://sts.windows.net/{TENANT}/",
                            "iat": now, "nbf": now, "exp": now + 3600, "oid": "test-identity"},
                           "azurite-basic-checks-no-signature-" + "x" * 16, algorithm="HS256")
        return {"access_token": token, "expires_on": str(now + 3600), "resource": query.get("resource", [""])[0],
                "token_type": "Bearer"}

    @property
    def url(self) -> str:
        return self.server.url("/msi/token")

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory):
    """Azurite over HTTPS that accepts bearer tokens only (no account key is ever given to the CLI)."""
    folder = tmp_path_factory.mktemp("oauth-azurite")
    cert, key = _self_signed(folder)
    emulator = Azurite(ROOT)
    command = [*emulator.command(), "--oauth", "basic", "--cert", str(cert), "--key", str(key)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL)
    try:
        wait_until_listening(emulator.ports, 60, process)
        yield emulator.ports, cert
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def endpoints(oauth_azurite, monkeypatch):
    """The environment infra/README.md gives a platform engineer: endpoints, no connection string."""
    from chargeback.wiring import reset_services
    ports, cert = oauth_azurite
    tokens = TokenEndpoint()
    for name in ("CHARGEBACK_STORAGE", "AzureWebJobsStorage", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT", "MSI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHARGEBACK_TABLE_ENDPOINT", f"https://127.0.0.1:{ports.table}/{ACCOUNT}")
    monkeypatch.setenv("CHARGEBACK_BLOB_ENDPOINT", f"https://127.0.0.1:{ports.blob}/{ACCOUNT}")
    monkeypatch.setenv("CHARGEBACK_TABLE_PREFIX", "oauth" + str(time.monotonic_ns())[-8:])
    monkeypatch.setenv("IDENTITY_ENDPOINT", tokens.url)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))   # trust the test's certificate, as for a proxy
    monkeypatch.setattr(local_stack, "_described", "")

    def no_local_stack():
        raise AssertionError("a local Azurite was started although endpoints are set")
    monkeypatch.setattr(local_stack, "up", no_local_stack)
    reset_services()
    yield tokens
    reset_services()
    tokens.close()


CONFIG = """\
currency: USD
departments:
  - id: marketing
    name: Marketing
    cost_center: CC-1001
    owners: [alice@contoso.com]
    subscriptions: [sub-mkt-01]
prices:
  - deployment: gpt-4o
    effective_from: 2026-01-01
    unit: 1M
    input: 2.50
    output: 10.00
"""


def test_config_import_goes_to_the_endpoints_as_the_signed_in_identity(endpoints, tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    assert main(["config", "import", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "imported" in out and "1 departments" in out
    table_endpoint = os.environ["CHARGEBACK_TABLE_ENDPOINT"]
    storage_lines = [line for line in err.splitlines() if line.startswith("storage: ")]
    assert len(storage_lines) == 1 and storage_lines[0].startswith(f"storage: {table_endpoint}")
    assert "signed-in Azure identity" in storage_lines[0]
    # the token came from the identity endpoint, for storage, with the platform's header
    assert endpoints.requests and {r["resource"].rstrip("/") for r in endpoints.requests} == \
        {"https://storage.azure.com"}
    assert all(r["header"] == IDENTITY_HEADER for r in endpoints.requests)

    assert main(["config", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in shown["departments"]] == ["marketing"]


def test_a_token_the_storage_refuses_fails_the_command_without_a_traceback(endpoints, tmp_path, capsys):
    endpoints.audience = "https://vault.azure.net"   # a token for something else: Azurite answers 401/403
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    assert main(["config", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "storage failed while" in err and "Traceback" not in err
    assert "Storage Table Data Contributor" in err   # says what to check


def test_one_endpoint_without_the_other_is_refused(endpoints, monkeypatch, capsys):
    from chargeback.wiring import reset_services
    monkeypatch.delenv("CHARGEBACK_BLOB_ENDPOINT")
    reset_services()
    assert main(["config", "show"]) == 2
    assert "set both CHARGEBACK_TABLE_ENDPOINT and CHARGEBACK_BLOB_ENDPOINT" in capsys.readouterr().err


def test_run_month_against_endpoints_points_to_the_deployed_rerun_route(endpoints, capsys):
    assert main(["run-month", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert "POST https://<functionAppHostName>/api/invoices/2026-10/run" in err
