"""One storage account's clients, created once and shared (never one client per call)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import Any, TypeVar

import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError, ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient

from chargeback.errors import StorageUnavailable
from chargeback.settings import Settings

Client = TypeVar("Client", TableServiceClient, BlobServiceClient)


class StorageAccount:
    """Tables and blob containers of the product, named with an optional prefix."""

    def __init__(self, settings: Settings, **client_options: Any):
        if not settings.has_storage:
            raise StorageUnavailable("no storage configured: set CHARGEBACK_STORAGE or AzureWebJobsStorage "
                                     "(a connection string), or CHARGEBACK_TABLE_ENDPOINT and CHARGEBACK_BLOB_ENDPOINT")
        if not settings.storage_connection and not (settings.table_endpoint and settings.blob_endpoint):
            raise StorageUnavailable("set both CHARGEBACK_TABLE_ENDPOINT and CHARGEBACK_BLOB_ENDPOINT (outputs "
                                     "tableEndpoint and blobEndpoint of the deployment)")
        self.settings = settings
        self._extra_options = client_options  # e.g. an azure-core raw_response_hook (tests, diagnostics)
        self._tables: dict[str, TableClient] = {}
        self._containers: dict[str, ContainerClient] = {}
        self._lock = threading.Lock()

    def _client_options(self, **network: Any) -> dict[str, Any]:   # network: _once
        return {"retry_total": self.settings.storage_retries, "retry_backoff_factor": 0.2,
                "connection_timeout": 5, "read_timeout": 30, **network, **self._extra_options}

    @cached_property
    def table_service(self) -> TableServiceClient:
        s = self.settings
        if s.storage_connection:
            return _once(lambda **o: TableServiceClient.from_connection_string(s.storage_connection,
                                                                                **self._client_options(**o)))
        return _once(lambda **o: TableServiceClient(s.table_endpoint, credential=self._credential,
                                                    **self._client_options(**o)))

    @cached_property
    def blob_service(self) -> BlobServiceClient:
        s = self.settings
        if s.storage_connection:
            return _once(lambda **o: BlobServiceClient.from_connection_string(s.storage_connection,
                                                                               **self._client_options(**o)))
        return _once(lambda **o: BlobServiceClient(s.blob_endpoint, credential=self._credential,
                                                   **self._client_options(**o)))

    @cached_property
    def _credential(self) -> TokenCredential:
        """One DefaultAzureCredential for tables and blobs: the app's managed identity in Azure, the
        signed-in developer (az login, environment, workload identity) on a workstation."""
        from azure.identity import DefaultAzureCredential  # only with endpoints: keeps local start-up light
        return DefaultAzureCredential()

    def describe(self) -> str:
        """Which storage this is, safe to print: endpoints are shown, connection strings never are."""
        s = self.settings
        if s.storage_connection:
            return "the account of the configured connection string (CHARGEBACK_STORAGE / AzureWebJobsStorage)"
        return f"{s.table_endpoint} and {s.blob_endpoint} as the signed-in Azure identity (DefaultAzureCredential)"

    def table(self, name: str) -> TableClient:
        """The table ``prefix + name``, created on first use."""
        full = self.settings.table_prefix + name
        with self._lock:
            client = self._tables.get(full)
            if client is None:
                client = self.table_service.get_table_client(full)
                with storage_errors(f"creating table {full}"), suppress(ResourceExistsError):
                    self.table_service.create_table(full)
                self._tables[full] = client
        return client

    def container(self, name: str) -> ContainerClient:
        """The blob container ``prefix + name`` (lower case), created on first use."""
        full = (self.settings.table_prefix + name).lower()
        with self._lock:
            client = self._containers.get(full)
            if client is None:
                client = self.blob_service.get_container_client(full)
                with storage_errors(f"creating container {full}"), suppress(ResourceExistsError):
                    client.create_container()
                self._containers[full] = client
        return client


def _once(client: Callable[..., Client]) -> Client:
    """A service client whose transport reads the environment once, here, not on every request.

    With its default ``use_env_settings`` the transport's requests session keeps ``trust_env``, and requests
    then reads the environment on each request (sessions.Session.merge_environment_settings: the proxies for
    the URL, honouring NO_PROXY, and a CA bundle, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE; ``request``: ~/.netrc
    credentials), ~0.5 ms of CPU a round trip. What that same function finds for the client's endpoint
    (every request of a client goes to it) is given to the client instead: ``proxies`` (azure-core's
    ProxyPolicy) and ``connection_verify``. ~/.netrc is not read: storage requests carry their own
    Authorization, which a netrc login would replace."""
    built = client(use_env_settings=False)
    with requests.Session() as session:
        found = session.merge_environment_settings(built.url, {}, None, True, None)
    network: dict[str, Any] = {}
    if found["proxies"]:
        network["proxies"] = found["proxies"]
    if found["verify"] is not True:
        network["connection_verify"] = found["verify"]
    return client(use_env_settings=False, **network) if network else built


@contextmanager
def storage_errors(doing: str) -> Iterator[None]:
    """Turn any Azure SDK failure into StorageUnavailable naming what was being done and why."""
    try:
        yield
    except AzureError as exc:
        hint = ("; the identity needs a data role on the account (Storage Table Data Contributor, Storage Blob "
                "Data Reader or Owner: infra/README.md)") if isinstance(exc, ClientAuthenticationError) else ""
        raise StorageUnavailable(f"storage failed while {doing}: {failure_cause(exc)}{hint}") from exc


def failure_cause(exc: BaseException) -> str:
    """The SDK error's type and its innermost cause, e.g. 'ServiceResponseError: Connection reset by peer'."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        inner = getattr(current, "inner_exception", None)
        current = inner if isinstance(inner, BaseException) else current.__cause__ or current.__context__
    root = seen[-1]
    text = getattr(root, "strerror", None) or str(root).strip().splitlines()[0:1]
    reason = text if isinstance(text, str) else (text[0] if text else type(root).__name__)
    return type(exc).__name__ if root is exc and not reason else f"{type(exc).__name__}: {reason[:200]}"
