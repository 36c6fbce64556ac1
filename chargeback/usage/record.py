"""The billable usage record: one metered (or unmetered) call through APIM."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One call's usage, normalised from any event schema and any API shape.

    Token counts follow the Azure OpenAI convention: ``cached_tokens`` are part of
    ``prompt_tokens`` and ``reasoning_tokens`` are part of ``completion_tokens``.
    """

    record_id: str            # idempotency key: requestId (v2) or hash of partition, sequence, body (v1)
    timestamp: datetime       # timezone-aware, UTC
    subscription: str         # APIM subscription id (v2) or "sha256:<hex>" key fingerprint (v1)
    deployment: str           # model deployment name; "" when the event did not say
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    metered: bool = True      # False: a stream whose usage never arrived (kept, never dropped)
    stream: bool = False
    model: str = ""
    subscription_name: str = ""
    product: str = ""
    operation: str = ""
    api_version: str = ""
    region: str = ""
    status_code: int = 200
    schema_version: int = 2

    @property
    def month(self) -> str:
        """The billing month, ``YYYY-MM`` (UTC)."""
        return f"{self.timestamp.year:04d}-{self.timestamp.month:02d}"

    @property
    def uncached_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
