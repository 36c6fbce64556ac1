"""Every setting the product reads, from environment variables, in one place.

``local.settings.json`` provides them to the Functions host locally; app settings in Azure.
Read when first asked for (never at import time), then kept. The local host changes them through
``chargeback.wiring.configure``, never by editing ``os.environ``. The trigger bindings' settings
(CHARGEBACK_EVENTHUB_NAME, CHARGEBACK_EVENTHUB_CONSUMER_GROUP, CHARGEBACK_INVOICE_SCHEDULE,
EventHubConnection) are not read here: the Functions host resolves them (``%NAME%`` in a binding).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    storage_connection: str = ""      # CHARGEBACK_STORAGE, else AzureWebJobsStorage (a connection string)
    table_endpoint: str = ""          # CHARGEBACK_TABLE_ENDPOINT: managed identity in Azure
    blob_endpoint: str = ""           # CHARGEBACK_BLOB_ENDPOINT
    table_prefix: str = ""            # CHARGEBACK_TABLE_PREFIX: namespaces tables (tests, several installs)
    storage_retries: int = 3          # CHARGEBACK_STORAGE_RETRIES: SDK retries before the batch fails
    public_url: str = "http://127.0.0.1:7071"  # CHARGEBACK_PUBLIC_URL: links in notices
    invoice_issuer: str = "Azure OpenAI platform team"  # CHARGEBACK_INVOICE_ISSUER: who issues the invoices
    billing_account_id: str = "chargeback"  # CHARGEBACK_BILLING_ACCOUNT_ID: FOCUS BillingAccountId, stable
    appinsights_connection: str = field(default="", repr=False)  # APPLICATIONINSIGHTS_CONNECTION_STRING
    platform_auth: bool = False       # WEBSITE_AUTH_ENABLED=True: App Service authentication is on
    local_auth: str = ""              # CHARGEBACK_LOCAL_AUTH=loopback: `chargeback serve` development mode
    entra_tenant_id: str = ""         # CHARGEBACK_ENTRA_TENANT_ID: set, owners' routes accept Entra bearer tokens
    entra_audiences: tuple[str, ...] = ()  # CHARGEBACK_ENTRA_AUDIENCE: the app registration's client id, api://...
    entra_jwks_url: str = ""          # CHARGEBACK_ENTRA_JWKS_URL: default the tenant's keys (login.microsoftonline.com)
    smtp_host: str = ""               # CHARGEBACK_SMTP_HOST: unset, email notices are recorded as failed
    smtp_port: int = 25               # CHARGEBACK_SMTP_PORT
    smtp_user: str = ""               # CHARGEBACK_SMTP_USER: log in only when set
    smtp_password: str = field(default="", repr=False)  # CHARGEBACK_SMTP_PASSWORD
    smtp_from: str = "chargeback@localhost"  # CHARGEBACK_SMTP_FROM
    notice_reply_to: str = ""         # CHARGEBACK_NOTICE_REPLY_TO: who answers questions about a notice
    smtp_starttls: bool = False       # CHARGEBACK_SMTP_STARTTLS=true: upgrade the connection before login
    notify_attempts: int = 3          # CHARGEBACK_NOTIFY_ATTEMPTS: tries per notice and channel within one run
    notify_backoff: float = 2.0       # CHARGEBACK_NOTIFY_BACKOFF_SECONDS: first pause between tries, then doubled
    # CHARGEBACK_MAX_COUNT_PER_CALL: a call reporting more of any meter is dead-lettered as implausible
    # (far above any model's context window; storage holds up to 2**63 - 1).
    max_count_per_call: int = 1_000_000_000
    # CHARGEBACK_END_USER_HASH_KEY: set, an event's endUser is stored as HMAC-SHA256 under this key, never raw.
    end_user_hash_key: str = field(default="", repr=False)
    # CHARGEBACK_CSRF_KEY: signs the portal's form tokens (chargeback/owners/csrf.py); unset, the portal's
    # Rerun form is off (POSTs refused), except in loopback development mode (a key per process).
    csrf_key: str = field(default="", repr=False)
    # CHARGEBACK_GATEWAY_HALVES_GRACE_DAYS: gateway-log halves are kept this long after a run first listed
    # their month (lone halves: after a run listed them), then removed (chargeback/storage/gateway_halves.py).
    gateway_halves_grace_days: int = 35

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        web_jobs = env.get("AzureWebJobsStorage", "")
        return cls(
            storage_connection=env.get("CHARGEBACK_STORAGE") or (web_jobs if "=" in web_jobs else ""),
            table_endpoint=env.get("CHARGEBACK_TABLE_ENDPOINT", ""),
            blob_endpoint=env.get("CHARGEBACK_BLOB_ENDPOINT", ""),
            table_prefix=env.get("CHARGEBACK_TABLE_PREFIX", ""),
            storage_retries=int(env.get("CHARGEBACK_STORAGE_RETRIES", "3")),
            public_url=env.get("CHARGEBACK_PUBLIC_URL", "http://127.0.0.1:7071").rstrip("/"),
            invoice_issuer=env.get("CHARGEBACK_INVOICE_ISSUER", "Azure OpenAI platform team"),
            billing_account_id=env.get("CHARGEBACK_BILLING_ACCOUNT_ID") or "chargeback",
            appinsights_connection=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
            platform_auth=env.get("WEBSITE_AUTH_ENABLED", "").lower() == "true",
            local_auth=env.get("CHARGEBACK_LOCAL_AUTH", ""),
            entra_tenant_id=env.get("CHARGEBACK_ENTRA_TENANT_ID", "").strip(),
            entra_audiences=tuple(a.strip() for a in env.get("CHARGEBACK_ENTRA_AUDIENCE", "").split(",") if a.strip()),
            entra_jwks_url=env.get("CHARGEBACK_ENTRA_JWKS_URL", "").strip(),
            smtp_host=env.get("CHARGEBACK_SMTP_HOST", ""),
            smtp_port=int(env.get("CHARGEBACK_SMTP_PORT") or 25),
            smtp_user=env.get("CHARGEBACK_SMTP_USER", ""),
            smtp_password=env.get("CHARGEBACK_SMTP_PASSWORD", ""),
            smtp_from=env.get("CHARGEBACK_SMTP_FROM") or "chargeback@localhost",
            notice_reply_to=env.get("CHARGEBACK_NOTICE_REPLY_TO", "").strip(),
            smtp_starttls=env.get("CHARGEBACK_SMTP_STARTTLS", "").lower() == "true",
            notify_attempts=max(1, int(env.get("CHARGEBACK_NOTIFY_ATTEMPTS") or 3)),
            notify_backoff=float(env.get("CHARGEBACK_NOTIFY_BACKOFF_SECONDS") or 2.0),
            max_count_per_call=min(2**63 - 1, max(1, int(env.get("CHARGEBACK_MAX_COUNT_PER_CALL")
                                                         or 1_000_000_000))),
            end_user_hash_key=env.get("CHARGEBACK_END_USER_HASH_KEY", ""),
            csrf_key=env.get("CHARGEBACK_CSRF_KEY", "").strip(),
            gateway_halves_grace_days=max(0, int(env.get("CHARGEBACK_GATEWAY_HALVES_GRACE_DAYS") or 35)),
        )

    @property
    def has_storage(self) -> bool:
        return bool(self.storage_connection or self.table_endpoint)

    def __repr__(self) -> str:  # connection strings carry account keys: never print them
        return f"Settings(storage={'set' if self.has_storage else 'unset'}, prefix={self.table_prefix!r})"


class _Current:
    """Holds the process's settings once read."""

    def __init__(self) -> None:
        self.value: Settings | None = None
        self.lock = threading.Lock()


_current = _Current()


def settings() -> Settings:
    """The process's settings: read from the environment on first use, then kept."""
    with _current.lock:
        if _current.value is None:
            _current.value = Settings.from_env()
        return _current.value


def use_settings(new: Settings | None) -> None:
    """Replace the process's settings (``None``: read the environment again on next use)."""
    with _current.lock:
        _current.value = new
