"""The one place where adapters are built from settings; entry points ask here, once per process."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from chargeback.settings import Settings, settings
from chargeback.storage.account import StorageAccount
from chargeback.storage.config_store import ConfigStore
from chargeback.storage.deadletter_store import DeadLetterStore
from chargeback.storage.usage_table import UsageStore
from chargeback.telemetry import UsageTelemetry, configure_telemetry


@dataclass
class Services:
    settings: Settings

    @cached_property
    def account(self) -> StorageAccount:
        return StorageAccount(self.settings)

    @cached_property
    def usage(self) -> UsageStore:
        return UsageStore(self.account, shards=self.settings.usage_shards)

    @cached_property
    def dead_letters(self) -> DeadLetterStore:
        return DeadLetterStore(self.account)

    @cached_property
    def config(self) -> ConfigStore:
        return ConfigStore(self.account)

    @cached_property
    def documents(self):
        from chargeback.storage.documents import DocumentStore
        return DocumentStore(self.account)

    @cached_property
    def invoice_index(self):
        from chargeback.storage.invoice_index import InvoiceIndex
        return InvoiceIndex(self.account)

    @cached_property
    def invoicing(self):
        from chargeback.workflow.invoicing import InvoicingContext
        return InvoicingContext(usage=self.usage, config=self.config, documents=self.documents,
                                index=self.invoice_index, issuer=self.settings.invoice_issuer)

    @cached_property
    def notices(self):
        from chargeback.storage.notice_store import NoticeStore
        return NoticeStore(self.account)

    @cached_property
    def notifying(self):
        from chargeback.notices.channels import SmtpMailer, WebhookPoster
        from chargeback.workflow.notifying import EMAIL, WEBHOOK, NotifyContext
        return NotifyContext(settings=self.settings, documents=self.documents, config=self.config,
                             index=self.invoice_index, notices=self.notices,
                             channels={EMAIL: SmtpMailer(self.settings), WEBHOOK: WebhookPoster()})

    @cached_property
    def telemetry(self) -> UsageTelemetry:
        configure_telemetry(self.settings.appinsights_connection)
        return UsageTelemetry()


_services: Services | None = None
_lock = threading.Lock()


def services() -> Services:
    """The process's services, built on first use from the environment."""
    global _services
    with _lock:
        if _services is None:
            _services = Services(settings())
        return _services


def reset_services(new: Services | None = None) -> None:
    """Replace the process's services (the local host does this after it points settings at Azurite)."""
    global _services
    settings.cache_clear()
    with _lock:
        _services = new
