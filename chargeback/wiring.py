"""The one place where adapters are built from settings; entry points ask here, once per process.

It is also the seam through which the local host changes settings (``configure``): the product reads
the environment once, in ``chargeback.settings``, and nothing edits ``os.environ`` to steer it.
"""
from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chargeback.settings import Settings, settings, use_settings
from chargeback.storage.account import StorageAccount
from chargeback.storage.config_store import ConfigStore
from chargeback.storage.deadletter_store import DeadLetterStore
from chargeback.storage.usage_table import UsageStore
from chargeback.telemetry import UsageTelemetry, configure_telemetry

if TYPE_CHECKING:  # built on first use: a trigger that needs none of them never imports them
    from chargeback.storage.actuals_store import ActualsStore
    from chargeback.storage.documents import DocumentStore
    from chargeback.storage.gateway_halves import GatewayHalvesStore
    from chargeback.storage.invoice_index import InvoiceIndex
    from chargeback.storage.notice_store import NoticeStore
    from chargeback.workflow.ingesting import IngestResult
    from chargeback.workflow.invoicing import InvoicingContext
    from chargeback.workflow.month_to_date import MonthToDateContext
    from chargeback.workflow.notifying import NotifyContext


@dataclass
class Services:
    settings: Settings
    # Called with each ingested batch's IngestResult by the Event Hub trigger (which returns nothing):
    # how the local host counts what its batches stored. Empty in Azure.
    ingest_observers: list[Callable[[IngestResult], None]] = field(default_factory=list)

    @cached_property
    def account(self) -> StorageAccount:
        return StorageAccount(self.settings)

    @cached_property
    def usage(self) -> UsageStore:
        return UsageStore(self.account)

    @cached_property
    def dead_letters(self) -> DeadLetterStore:
        return DeadLetterStore(self.account)

    @cached_property
    def gateway_halves(self) -> GatewayHalvesStore:
        from chargeback.storage.gateway_halves import GatewayHalvesStore
        return GatewayHalvesStore(self.account)

    @cached_property
    def config(self) -> ConfigStore:
        return ConfigStore(self.account)

    @cached_property
    def documents(self) -> DocumentStore:
        from chargeback.storage.documents import DocumentStore
        return DocumentStore(self.account)

    @cached_property
    def actuals(self) -> ActualsStore:
        from chargeback.storage.actuals_store import ActualsStore
        return ActualsStore(self.account)

    @cached_property
    def invoice_index(self) -> InvoiceIndex:
        from chargeback.storage.invoice_index import InvoiceIndex
        return InvoiceIndex(self.account)

    @cached_property
    def invoicing(self) -> InvoicingContext:
        from chargeback.workflow.invoicing import InvoicingContext
        return InvoicingContext(usage=self.usage, config=self.config, documents=self.documents,
                                index=self.invoice_index, issuer=self.settings.invoice_issuer,
                                billing_account_id=self.settings.billing_account_id,
                                actuals=self.actuals, gateway_halves=self.gateway_halves)

    @cached_property
    def month_to_date(self) -> MonthToDateContext:
        from chargeback.storage.rollup_store import RollupStore
        from chargeback.workflow.month_to_date import MonthToDateContext
        return MonthToDateContext(usage=self.usage, rollups=RollupStore(self.account), config=self.config)

    @cached_property
    def notices(self) -> NoticeStore:
        from chargeback.storage.notice_store import NoticeStore
        return NoticeStore(self.account)

    @cached_property
    def notifying(self) -> NotifyContext:
        from chargeback.notices.channels import SmtpMailer, WebhookPoster
        from chargeback.workflow.notifying import EMAIL, WEBHOOK, NotifyContext
        return NotifyContext(settings=self.settings, documents=self.documents, config=self.config,
                             index=self.invoice_index, notices=self.notices,
                             channels={EMAIL: SmtpMailer(self.settings), WEBHOOK: WebhookPoster()})

    @cached_property
    def telemetry(self) -> UsageTelemetry:
        configure_telemetry(self.settings.appinsights_connection)
        return UsageTelemetry()


class _Current:
    """Holds the process's services once built."""

    def __init__(self) -> None:
        self.value: Services | None = None
        self.lock = threading.Lock()


_current = _Current()


def services() -> Services:
    """The process's services, built on first use from the process's settings."""
    with _current.lock:
        if _current.value is None:
            _current.value = Services(settings())
        return _current.value


def reset_services(new: Services | None = None) -> None:
    """Replace the process's services and their settings (``None``: read the environment again on next use)."""
    use_settings(new.settings if new is not None else None)
    with _current.lock:
        _current.value = new


def configure(**changes: Any) -> Settings:
    """Run the process with these settings changed (field names of ``Settings``); services are rebuilt.

    The local host's seam: ``configure(storage_connection=...)`` instead of editing ``os.environ``.
    """
    new = dataclasses.replace(settings(), **changes)
    reset_services(Services(new))
    return new


@contextmanager
def configured(**changes: Any) -> Iterator[Services]:
    """``configure`` for the length of a block, then the settings and services from before."""
    before_settings, before_services = settings(), _current.value
    configure(**changes)
    try:
        yield services()
    finally:
        use_settings(before_settings)
        with _current.lock:
            _current.value = before_services
