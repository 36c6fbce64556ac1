"""One storage account's clients, created once and shared (never one client per call)."""
from __future__ import annotations

import threading
from functools import cached_property

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient

from chargeback.errors import StorageUnavailable
from chargeback.settings import Settings


class StorageAccount:
    """Tables and blob containers of the product, named with an optional prefix."""

    def __init__(self, settings: Settings, **client_options):
        if not settings.has_storage:
            raise StorageUnavailable("no storage configured: set CHARGEBACK_STORAGE or AzureWebJobsStorage")
        self.settings = settings
        self._extra_options = client_options  # e.g. an azure-core raw_response_hook (tests, diagnostics)
        self._tables: dict[str, TableClient] = {}
        self._containers: dict[str, ContainerClient] = {}
        self._lock = threading.Lock()

    def _client_options(self) -> dict:
        return {"retry_total": self.settings.storage_retries, "retry_backoff_factor": 0.2,
                "connection_timeout": 5, "read_timeout": 30, **self._extra_options}

    @cached_property
    def table_service(self) -> TableServiceClient:
        s = self.settings
        if s.storage_connection:
            return TableServiceClient.from_connection_string(s.storage_connection, **self._client_options())
        return TableServiceClient(s.table_endpoint, credential=_managed_identity(), **self._client_options())

    @cached_property
    def blob_service(self) -> BlobServiceClient:
        s = self.settings
        if s.storage_connection:
            return BlobServiceClient.from_connection_string(s.storage_connection, **self._client_options())
        return BlobServiceClient(s.blob_endpoint, credential=_managed_identity(), **self._client_options())

    def table(self, name: str) -> TableClient:
        """The table ``prefix + name``, created on first use."""
        full = self.settings.table_prefix + name
        with self._lock:
            client = self._tables.get(full)
            if client is None:
                client = self.table_service.get_table_client(full)
                with storage_errors(f"creating table {full}"):
                    try:
                        self.table_service.create_table(full)
                    except ResourceExistsError:
                        pass
                self._tables[full] = client
        return client

    def container(self, name: str) -> ContainerClient:
        """The blob container ``prefix + name`` (lower case), created on first use."""
        full = (self.settings.table_prefix + name).lower()
        with self._lock:
            client = self._containers.get(full)
            if client is None:
                client = self.blob_service.get_container_client(full)
                with storage_errors(f"creating container {full}"):
                    try:
                        client.create_container()
                    except ResourceExistsError:
                        pass
                self._containers[full] = client
        return client


def _managed_identity():
    from azure.identity import DefaultAzureCredential  # only in Azure: keeps local start-up light
    return DefaultAzureCredential()


class storage_errors:
    """Turn any Azure SDK failure into StorageUnavailable naming what was being done."""

    def __init__(self, doing: str):
        self.doing = doing

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, AzureError):
            raise StorageUnavailable(f"storage failed while {self.doing}: {type(exc).__name__}") from exc
        return False
