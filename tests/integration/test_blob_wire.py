"""The lean blob requests (chargeback/storage/blob_wire) against Azurite, checked by the SDK's own reads: the
bytes of any size and value, names that need quoting (the same blob the SDK's download and listing find),
content type and metadata as get_blob_properties sees them, overwrite, delete, missing blobs, and failures
raised as the SDK raises them; the request is the one the SDK sends, header for header."""
from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from chargeback.settings import Settings
from chargeback.storage import blob_wire
from chargeback.storage.account import StorageAccount, failure_cause

NAMES = ["plain", "with space/and dir/x.json", "unicodé/ß/日本.csv", "tilde~and-dash_dot.", "hash#frag",
         "per%20cent%", "what?q=1&b=2", "a+b=c;d,e@f!'()*$", "//double//slash", "trailing/"]


def account(storage, **options) -> StorageAccount:
    return StorageAccount(Settings.from_env({"CHARGEBACK_STORAGE": storage.connection_string,
                                             "CHARGEBACK_TABLE_PREFIX": storage.prefix}), **options)


@pytest.fixture
def container(storage) -> ContainerClient:
    return account(storage).container("wire")


@pytest.mark.parametrize("size", [0, 1, 256, 54_000, 5_000_003])
def test_bytes_of_any_size_and_value_round_trip(container, size):
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert len(data) == size
    blob_wire.put(container, "data.bin", data, "application/octet-stream")
    assert container.download_blob("data.bin").readall() == data
    assert blob_wire.get(container, "data.bin") == data
    container.upload_blob("sdk.bin", data[::-1], overwrite=True)
    assert blob_wire.get(container, "sdk.bin") == data[::-1]


def test_names_that_need_quoting_are_the_sdks_blobs(container):
    for index, name in enumerate(NAMES):
        assert blob_wire.blob_url(container, name) == container.get_blob_client(name).url
        blob_wire.put(container, name, f"lean {index}".encode(), "text/plain")
        assert container.download_blob(name).readall() == f"lean {index}".encode()
    assert sorted(blob.name for blob in container.list_blobs()) == sorted(NAMES)
    for index, name in enumerate(NAMES):
        container.upload_blob(name, f"sdk {index}".encode(), overwrite=True)
        assert blob_wire.get(container, name) == f"sdk {index}".encode()
    for name in NAMES:
        assert blob_wire.delete(container, name) is True
    assert list(container.list_blobs()) == []


def test_content_type_and_metadata_are_what_the_sdk_reads(container):
    blob_wire.put(container, "m.xlsx", b"PK\x03\x04", "application/vnd.ms-excel",
                  {"month": "2026-10", "owner": " team-a ", "empty": ""})
    props = container.get_blob_client("m.xlsx").get_blob_properties()
    assert props.content_settings.content_type == "application/vnd.ms-excel"
    assert props.metadata == {"month": "2026-10", "owner": "team-a", "empty": ""}
    assert props.size == 4 and props.blob_type == "BlockBlob"


def test_put_replaces_content_and_metadata(container):
    blob_wire.put(container, "o.json", b'{"v": 1}', "application/json", {"first": "yes"})
    blob_wire.put(container, "o.json", b'{"v": 22}', "text/csv", {"second": "yes"})
    props = container.get_blob_client("o.json").get_blob_properties()
    assert container.download_blob("o.json").readall() == b'{"v": 22}'
    assert (props.content_settings.content_type, props.metadata) == ("text/csv", {"second": "yes"})
    assert blob_wire.get(container, "o.json") == b'{"v": 22}'   # an XML or JSON type is not parsed either


@pytest.mark.parametrize("content_type", ["application/json", "application/xml", "text/xml; charset=utf-8"])
def test_a_body_is_never_parsed_as_its_content_type(container, content_type):
    data = b"\x78\x9c not a document <{"   # zlib-like bytes under a document type
    blob_wire.put(container, "typed", data, content_type)
    assert blob_wire.get(container, "typed") == data
    assert container.get_blob_client("typed").get_blob_properties().content_settings.content_type == content_type


def test_missing_blob_or_container_reads_none_and_deletes_false(storage, container):
    assert blob_wire.get(container, "never/written") is None
    assert blob_wire.delete(container, "never/written") is False
    blob_wire.put(container, "gone", b"x", "text/plain")
    assert blob_wire.delete(container, "gone") is True
    assert blob_wire.get(container, "gone") is None
    assert not container.get_blob_client("gone").exists()
    missing = account(storage).blob_service.get_container_client(storage.prefix + "nocontainer")
    assert blob_wire.get(missing, "x") is None
    assert blob_wire.delete(missing, "x") is False


def sdk_error(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def test_failures_are_raised_as_the_sdk_raises_them(storage, container):
    missing = account(storage).blob_service.get_container_client(storage.prefix + "nocontainer")
    lean = sdk_error(lambda: blob_wire.put(missing, "a b", b"x", "text/plain"))
    sdk = sdk_error(lambda: missing.upload_blob("a b", b"x", overwrite=True))
    assert type(lean) is type(sdk) is ResourceNotFoundError
    assert lean.error_code == sdk.error_code == "ContainerNotFound" and "ErrorCode:ContainerNotFound" in str(lean)
    assert lean.status_code == 404 and failure_cause(lean) == failure_cause(sdk)

    wrong_key = base64.b64encode(b"not the account key" * 3).decode()
    bad = ContainerClient.from_connection_string(
        storage.connection_string.replace("AccountKey=", f"AccountKey={wrong_key};Old="), container.container_name,
        retry_total=0)
    for lean_call, sdk_call in ((lambda: blob_wire.get(bad, "x"), lambda: bad.download_blob("x").readall()),
                                (lambda: blob_wire.put(bad, "x", b"1", "text/plain"),
                                 lambda: bad.upload_blob("x", b"1", overwrite=True)),
                                (lambda: blob_wire.delete(bad, "x"), lambda: bad.delete_blob("x"))):
        lean, sdk = sdk_error(lean_call), sdk_error(sdk_call)
        # Azure answers AuthenticationFailed (ClientAuthenticationError); Azurite 403 AuthorizationFailure
        assert type(lean) is type(sdk) and type(sdk) in (ClientAuthenticationError, HttpResponseError)
        assert lean.error_code == sdk.error_code and lean.status_code == sdk.status_code == 403
        assert f"ErrorCode:{getattr(sdk.error_code, 'value', sdk.error_code)}" in lean.message
        assert failure_cause(lean) == failure_cause(sdk)   # what storage_errors puts in StorageUnavailable


VOLATILE = {"x-ms-date", "x-ms-client-request-id", "authorization", "user-agent"}


def test_the_request_is_the_one_the_sdk_sends(storage):
    sent: list[tuple[str, str, dict[str, str]]] = []

    def record(pipeline_request):
        request = pipeline_request.http_request
        sent.append((request.method, request.url, {k.lower(): v for k, v in request.headers.items()
                                                   if k.lower() not in VOLATILE}))

    container = account(storage, raw_request_hook=record).container("wire")
    name, meta = "dir/a ~é#?.csv", {"k": "v", "month": "2026-10"}
    sent.clear()
    container.upload_blob(name, b"abc", overwrite=True, metadata=meta,
                          content_settings=ContentSettings(content_type="text/csv"))
    blob_wire.put(container, name, b"abc", "text/csv", meta)
    container.download_blob(name).readall()
    blob_wire.get(container, name)
    container.delete_blob(name)
    blob_wire.delete(container, name)
    url = container.get_blob_client(name).url
    assert [s[:2] for s in sent] == [("PUT", url)] * 2 + [("GET", url)] * 2 + [("DELETE", url)] * 2
    assert sent[0][2] == sent[1][2] and sent[4][2] == sent[5][2]
    assert sent[1][2]["x-ms-version"] == container.api_version and sent[1][2]["x-ms-meta-month"] == "2026-10"
    assert sent[1][2]["content-length"] == "3" and sent[1][2]["x-ms-blob-content-type"] == "text/csv"
    sdk_get = dict(sent[2][2])
    assert sdk_get.pop("x-ms-range") == "bytes=0-33554431"   # the SDK's first chunk; the lean GET asks for all
    assert sdk_get == sent[3][2]
