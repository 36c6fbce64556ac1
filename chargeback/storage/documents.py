"""Blob documents of the product: run artifacts, invoices and exports (one container each)."""
from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContentSettings

from chargeback.storage import blob_wire
from chargeback.storage.account import StorageAccount, storage_errors

RUNS, INVOICES, EXPORTS = "runs", "invoices", "exports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
JSON = "application/json"


class DocumentStore:
    """Put, get and delete blobs by ``container`` and name; JSON helpers for run artifacts.

    Whole-blob get, put (up to ``blob_wire.LEAN_PUT_BYTES``) and delete are lean requests through the
    container client's own pipeline (chargeback/storage/blob_wire); larger uploads, ranges, properties and
    listings are the SDK's."""

    def __init__(self, account: StorageAccount):
        self.account = account

    def put(self, container: str, name: str, data: bytes, content_type: str,
            metadata: dict[str, str] | None = None) -> str:
        ascii_metadata = {k: _ascii(v) for k, v in (metadata or {}).items()}
        with storage_errors(f"writing {container}/{name}"):
            client = self.account.container(container)
            if len(data) <= blob_wire.LEAN_PUT_BYTES:
                blob_wire.put(client, name, data, content_type, ascii_metadata)
            else:
                client.upload_blob(name, data, overwrite=True, metadata=ascii_metadata,
                                   content_settings=ContentSettings(content_type=content_type))
        return name

    def get(self, container: str, name: str) -> bytes | None:
        """The whole blob, None when it does not exist."""
        with storage_errors(f"reading {container}/{name}"):
            return blob_wire.get(self.account.container(container), name)

    def delete(self, container: str, name: str) -> None:
        """Delete the blob; one that does not exist is already what was asked."""
        with storage_errors(f"deleting {container}/{name}"):
            blob_wire.delete(self.account.container(container), name)

    def get_range(self, container: str, name: str, offset: int, length: int) -> bytes | None:
        """Up to ``length`` bytes from ``offset`` (one ranged GET; fewer, or none, past the blob's end), or None
        when the blob does not exist."""
        with storage_errors(f"reading {container}/{name}"):
            try:
                data: bytes = self.account.container(container).download_blob(
                    name, offset=offset, length=length).readall()
                return data
            except ResourceNotFoundError:
                return None
            except HttpResponseError as exc:
                if exc.status_code == 416:   # Blob service: a range starting past the end is InvalidRange
                    return b""
                raise

    def properties(self, container: str, name: str) -> dict[str, Any] | None:
        with storage_errors(f"reading {container}/{name}"):
            try:
                props = self.account.container(container).get_blob_client(name).get_blob_properties()
            except ResourceNotFoundError:
                return None
        return {"content_type": props.content_settings.content_type, "metadata": dict(props.metadata),
                "size": props.size}

    def list(self, container: str, prefix: str) -> list[str]:
        with storage_errors(f"listing {container}/{prefix}"):
            return sorted(b.name for b in self.account.container(container).list_blobs(name_starts_with=prefix))

    def put_json(self, container: str, name: str, document: Any) -> str:
        return self.put(container, name, json.dumps(document, separators=(",", ":")).encode("utf-8"), JSON)

    def get_json(self, container: str, name: str) -> Any:
        data = self.get(container, name)
        if data is None:
            raise FileNotFoundError(f"{container}/{name} does not exist")
        return json.loads(data)


def _ascii(value: object) -> str:
    # Blob metadata must be ASCII; names from config may not be.
    return str(value).encode("ascii", "backslashreplace").decode("ascii")
