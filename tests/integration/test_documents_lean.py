"""DocumentStore over the lean blob requests, against Azurite: what callers see is what the SDK path gave
(bytes, None for a missing blob, content type and ASCII-escaped metadata from properties()), delete, failures
as StorageUnavailable naming the blob, bodies above LEAN_PUT_BYTES through the SDK's upload_blob, and a body
that breaks off read again by the SDK's download."""
from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import IncompleteReadError
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.storage.blob import ContainerClient

from chargeback.errors import StorageUnavailable
from chargeback.settings import Settings
from chargeback.storage import blob_wire
from chargeback.storage.account import StorageAccount
from chargeback.storage.documents import CSV, DocumentStore


@pytest.fixture
def docs(storage) -> DocumentStore:
    return DocumentStore(StorageAccount(Settings.from_env({
        "CHARGEBACK_STORAGE": storage.connection_string, "CHARGEBACK_TABLE_PREFIX": storage.prefix,
        "CHARGEBACK_STORAGE_RETRIES": "0"})))


def test_put_get_properties_and_json_as_before(docs):
    assert docs.put("runs", "2026-10/run 1/report.csv", b"a,b\r\n1,2\r\n", CSV,
                    {"month": "2026-10", "owner": "Zoë Team"}) == "2026-10/run 1/report.csv"
    assert docs.get("runs", "2026-10/run 1/report.csv") == b"a,b\r\n1,2\r\n"
    assert docs.properties("runs", "2026-10/run 1/report.csv") == {
        "content_type": CSV, "metadata": {"month": "2026-10", "owner": "Zo\\xeb Team"}, "size": 10}
    docs.put_json("runs", "doc.json", {"total": "12.50", "names": ["é"]})
    assert docs.get_json("runs", "doc.json") == {"total": "12.50", "names": ["é"]}
    assert docs.properties("runs", "doc.json")["content_type"] == "application/json"
    assert docs.list("runs", "2026-10/") == ["2026-10/run 1/report.csv"]


def test_missing_blob_is_none_and_delete_of_missing_is_fine(docs):
    assert docs.get("runs", "nothing/here") is None
    with pytest.raises(FileNotFoundError):
        docs.get_json("runs", "nothing/here.json")
    docs.delete("runs", "nothing/here")
    docs.put("runs", "short-lived", b"x", CSV)
    docs.delete("runs", "short-lived")
    assert docs.get("runs", "short-lived") is None
    assert docs.properties("runs", "short-lived") is None


def test_a_failed_write_names_the_blob(docs):
    docs.put("runs", "before", b"x", CSV)
    docs.account.container("runs").delete_container()
    with pytest.raises(StorageUnavailable, match=r"writing runs/a b#c: ResourceNotFoundError: The specified "
                                                 r"container does not exist"):
        docs.put("runs", "a b#c", b"y", CSV)
    assert docs.get("runs", "before") is None   # a missing container reads as a missing blob, as before


def test_a_refused_key_names_the_blob_for_each_request(docs, storage):
    full = docs.account.container("runs").container_name
    wrong_key = base64.b64encode(b"not the account key" * 3).decode()
    docs.account._containers[full] = ContainerClient.from_connection_string(   # the same container, wrong key
        storage.connection_string.replace("AccountKey=", f"AccountKey={wrong_key};Old="), full, retry_total=0)
    for doing, call in (("reading runs/r", lambda: docs.get("runs", "r")),
                        ("writing runs/w", lambda: docs.put("runs", "w", b"1", CSV)),
                        ("deleting runs/d", lambda: docs.delete("runs", "d"))):
        with pytest.raises(StorageUnavailable, match=f"storage failed while {doing}: HttpResponseError: .*"
                                                     "Server failed to authenticate the request"):
            call()


def spy(monkeypatch) -> list[str]:
    calls: list[str] = []
    sdk_upload, lean_put = ContainerClient.upload_blob, blob_wire.put

    def upload_blob(self, *args, **kwargs):
        calls.append("sdk")
        return sdk_upload(self, *args, **kwargs)

    def put(*args, **kwargs):
        calls.append("lean")
        return lean_put(*args, **kwargs)

    monkeypatch.setattr(ContainerClient, "upload_blob", upload_blob)
    monkeypatch.setattr(blob_wire, "put", put)
    return calls


def test_bodies_above_the_threshold_go_through_the_sdk(docs, monkeypatch):
    calls = spy(monkeypatch)
    big = bytes(range(256)) * (4 * 1024 * 1024 // 256) + b"!"
    assert len(big) == 4 * 1024 * 1024 + 1
    docs.put("exports", "big.csv", big, CSV, {"rows": "many"})
    docs.put("exports", "edge.csv", big[:-1], CSV, {"rows": "edge"})
    assert calls == ["sdk", "lean"]
    assert docs.get("exports", "big.csv") == big and docs.get("exports", "edge.csv") == big[:-1]
    assert docs.properties("exports", "big.csv") == {"content_type": CSV, "metadata": {"rows": "many"},
                                                     "size": len(big)}
    assert docs.properties("exports", "edge.csv")["metadata"] == {"rows": "edge"}


def test_a_body_that_breaks_off_is_read_again_by_the_sdk(docs, monkeypatch):
    data = bytes(range(256)) * 300
    docs.put("runs", "flaky", data, "application/zlib")
    breaks: list[int] = []
    read = HttpResponseImpl.read

    def break_once(self):
        if not breaks:
            breaks.append(1)
            raise IncompleteReadError(message="peer closed the connection")
        return read(self)

    monkeypatch.setattr(HttpResponseImpl, "read", break_once)
    assert docs.get("runs", "flaky") == data
    assert breaks == [1]
