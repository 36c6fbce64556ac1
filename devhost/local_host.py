"""The local Functions host: the Durable engine and the HTTP functions over the configured storage.

A stand-in for Azure Functions Core Tools, which cannot be installed here. It calls the very
functions function_app.py registers; it holds no business logic.
"""
from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

from chargeback.errors import RunInProgress
from chargeback.months import instance_id, parse_month
from chargeback.wiring import services
from devhost.durable import DurableHost, InstanceAlreadyRunning, InstanceNotFound, TableInstanceStore
from devhost.functions import function_index
from devhost.http_host import LocalHttpHost
from orchestrations.names import MONTHLY_INVOICING

INSTANCES_TABLE = "DurableInstances"


class LocalHost:
    def __init__(self, max_workers: int = 4, retry_delay_scale: float = 1.0, background: bool = True,
                 lease_seconds: float = 30.0):
        s = services()
        if not s.settings.storage_connection:
            raise RuntimeError("the local host needs a storage connection string (CHARGEBACK_STORAGE)")
        store = TableInstanceStore(s.settings.storage_connection,
                                   table_name=s.settings.table_prefix + INSTANCES_TABLE)
        self.durable = DurableHost(function_index(), store, max_workers=max_workers, background=background,
                                   retry_delay_scale=retry_delay_scale, lease_seconds=lease_seconds)
        self.resumed: list[str] = []   # instances start_month took over from a host that was gone
        self.http = LocalHttpHost(client_binding=self.durable.client_binding,
                                  management=self.durable.management_api)

    def resume_unfinished(self) -> list[str]:
        """Continue instances a previous host left running (from their stored history)."""
        return self.durable.resume_all()

    def start_month(self, month: str, restart: bool = False) -> str:
        """Start the month's run; resume one a gone host left unfinished; ``restart`` starts over instead.
        RunInProgress at once while a live host (another run-month or serve) runs it."""
        instance = instance_id(parse_month(month))
        try:
            return self.durable.start_new(MONTHLY_INVOICING, instance, {"month": month}, restart=restart)
        except InstanceAlreadyRunning as running:
            record = running.record
            if record is not None and record.abandoned(datetime.now(UTC)):
                with contextlib.suppress(InstanceAlreadyRunning):   # lost a race to resume it: it runs
                    self.durable.resume(instance)
                    self.resumed.append(instance)
                    return instance
            raise RunInProgress(_running_message(month, record)) from None

    def follow(self, month: str, timeout: float = 600.0) -> dict:
        """Wait for the month's run, wherever it runs; take it over if its host goes away meanwhile."""
        instance = instance_id(parse_month(month))
        deadline = time.monotonic() + timeout
        while True:
            record = self.durable.store.load(instance, with_history=False)
            if record is None:
                raise InstanceNotFound(instance)
            if record.finished:
                return record.status()
            if record.abandoned(datetime.now(UTC)):
                with contextlib.suppress(InstanceAlreadyRunning):
                    self.durable.resume(instance)
                    self.resumed.append(instance)
                    return self.durable.wait_for_completion(instance, max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                raise TimeoutError(f"instance {instance} is still {record.runtime_status}")
            time.sleep(0.5)

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


def _running_message(month: str, record) -> str:
    held = ""
    if record is not None and record.lease_until is not None:
        held = f", its host's lease runs until {record.lease_until:%H:%M:%S} UTC"
    return (f"invoicing {month} is already running in another process{held}. Follow it: chargeback run-month "
            f"{month} --follow; start it over: chargeback run-month {month} --restart")
