"""The storage clients read the proxy settings of the environment once, when built (chargeback/storage/account
``_once``), not on every request: a proxy set then is used (and NO_PROXY honoured), a later change is not."""
from __future__ import annotations

import socket
import threading

import pytest
from azure.core.exceptions import AzureError

from chargeback.settings import Settings
from chargeback.storage.account import StorageAccount

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="   # Azurite's


class Proxy:
    """A listening socket that records the first line of each request it gets and answers 404."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.lines: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                self.lines.append(connection.recv(65536).split(b"\r\n", 1)[0].decode())
                connection.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def proxy():
    server = Proxy()
    yield server
    server.server.close()


def account(port: int) -> StorageAccount:
    """An account whose table endpoint nothing listens on (10.255.255.1 is not routed: only a proxy answers)."""
    return StorageAccount(Settings(storage_connection=(
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};"
        f"TableEndpoint=http://10.255.255.1:{port}/devstoreaccount1;"
        f"BlobEndpoint=http://10.255.255.1:{port}/devstoreaccount1;"), storage_retries=0))


def read_pointer(acct: StorageAccount) -> None:
    with pytest.raises(AzureError):   # the proxy's 404, or no connection without it
        acct.table_service.get_table_client("T").get_entity("p", "r", connection_timeout=0.5)


def test_a_proxy_in_the_environment_when_the_client_is_built_is_used(proxy, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    acct = account(10002)
    read_pointer(acct)
    assert proxy.lines and all(line.startswith("GET http://10.255.255.1:10002/devstoreaccount1/T(")
                               for line in proxy.lines)   # an absolute URI: sent to the proxy
    monkeypatch.delenv("HTTP_PROXY")   # read once: the built client keeps its proxy
    sent = len(proxy.lines)
    read_pointer(acct)
    assert len(proxy.lines) > sent
    assert acct.table_service._client._client._pipeline._transport.session.trust_env is False


def test_no_proxy_for_the_endpoint_is_honoured(proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "10.255.255.1")
    read_pointer(account(10002))
    assert proxy.lines == []


def test_a_proxy_set_after_the_client_was_built_is_not_read(proxy, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    acct = account(10002)
    assert acct.table_service.url.startswith("http://10.255.255.1")   # built without a proxy
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    read_pointer(acct)
    assert proxy.lines == []


def test_a_ca_bundle_in_the_environment_is_what_the_transport_verifies_with(monkeypatch, tmp_path):
    bundle = tmp_path / "corporate-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    acct = account(10002)
    for service in (acct.table_service, acct.blob_service):
        assert service._client._client._pipeline._transport.connection_config.verify == str(bundle)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert account(10002).table_service._client._client._pipeline._transport.connection_config.verify is True
