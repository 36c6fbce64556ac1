"""The local Functions host: the Durable engine and the HTTP functions over the configured storage.

A stand-in for Azure Functions Core Tools, which cannot be installed here. It calls the very
functions function_app.py registers; it holds no business logic.
"""
from __future__ import annotations

from chargeback.errors import RunInProgress
from chargeback.months import instance_id, parse_month
from chargeback.wiring import services
from devhost.durable import DurableHost, InstanceAlreadyRunning, TableInstanceStore
from devhost.functions import function_index
from devhost.http_host import LocalHttpHost
from orchestrations.names import MONTHLY_INVOICING

INSTANCES_TABLE = "DurableInstances"


class LocalHost:
    def __init__(self, max_workers: int = 4, retry_delay_scale: float = 1.0, background: bool = True):
        s = services()
        if not s.settings.storage_connection:
            raise RuntimeError("the local host needs a storage connection string (CHARGEBACK_STORAGE)")
        store = TableInstanceStore(s.settings.storage_connection,
                                   table_name=s.settings.table_prefix + INSTANCES_TABLE)
        self.durable = DurableHost(function_index(), store, max_workers=max_workers, background=background,
                                   retry_delay_scale=retry_delay_scale)
        self.http = LocalHttpHost(client_binding=self.durable.client_binding,
                                  management=self.durable.management_api)

    def resume_unfinished(self) -> list[str]:
        """Continue instances a previous host left running (from their stored history)."""
        return self.durable.resume_all()

    def start_month(self, month: str) -> str:
        try:
            return self.durable.start_new(MONTHLY_INVOICING, instance_id(parse_month(month)), {"month": month})
        except InstanceAlreadyRunning:
            raise RunInProgress(f"invoicing {month} is already running") from None

    def run_month(self, month: str, timeout: float = 600.0) -> dict:
        """Run the month's orchestration to the end; returns its final status (output on success)."""
        instance = self.start_month(month)
        return self.durable.wait_for_completion(instance, timeout)

    def close(self) -> None:
        self.durable.close()

    def __enter__(self) -> LocalHost:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
