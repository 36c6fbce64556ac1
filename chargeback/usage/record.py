"""The billable usage record: one metered (or unmetered) call through APIM."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chargeback.usage.meters import NO_USAGE, MeterQuantities, TokenViews


@dataclass(frozen=True, slots=True, init=False)
class UsageRecord(TokenViews):
    """One call's usage, normalised from any event schema and any API shape: a quantity per meter.

    The four token counts of the first release (``prompt_tokens`` ... ``reasoning_tokens``) are derived
    from ``meters``, following the Azure OpenAI convention: cached inside prompt, reasoning inside
    completion. They are also still accepted by the constructor as a text-only call (what callers from
    before meters built); passing them together with ``meters`` is a ``TypeError``.
    """

    record_id: str            # idempotency key: requestId (v2) or hash of partition, sequence, body (v1)
    timestamp: datetime       # timezone-aware, UTC
    subscription: str         # APIM subscription id (v2) or "sha256:<hex>" key fingerprint (v1)
    deployment: str           # model deployment name; "" when the event did not say
    meters: MeterQuantities
    metered: bool             # False: a call whose usage never arrived (kept, never dropped)
    stream: bool
    model: str
    subscription_name: str
    product: str
    operation: str
    api_version: str
    region: str
    status_code: int
    schema_version: int
    path: str                 # request path after the deployment ("/audio/speech"); "" when not sent
    end_user: str             # who called inside the subscription (or its keyed hash); "" when not sent
    tags: tuple[str, ...]     # valid "key=value" labels, sorted; () when none
    served_deployment: str    # the deployment that served a spilled call; "" when it was ``deployment``

    def __init__(self, record_id: str, timestamp: datetime, subscription: str, deployment: str,
                 prompt_tokens: int = 0, cached_tokens: int = 0, completion_tokens: int = 0,
                 reasoning_tokens: int = 0, metered: bool = True, stream: bool = False, model: str = "",
                 subscription_name: str = "", product: str = "", operation: str = "", api_version: str = "",
                 region: str = "", status_code: int = 200, schema_version: int = 2, *,
                 meters: MeterQuantities | None = None, path: str = "", end_user: str = "",
                 tags: tuple[str, ...] = (), served_deployment: str = "") -> None:
        if meters is None:
            meters = (MeterQuantities.from_text_tokens(prompt_tokens, cached_tokens, completion_tokens,
                                                       reasoning_tokens)
                      if prompt_tokens or cached_tokens or completion_tokens or reasoning_tokens else NO_USAGE)
        elif prompt_tokens or cached_tokens or completion_tokens or reasoning_tokens:
            raise TypeError("give either meters or the text token counts, not both")
        # The slots' own setters: a frozen class cannot assign, and these skip object.__setattr__'s lookup
        # of each name (this runs once per event: the parse rate shows it).
        _set_record_id(self, record_id)
        _set_timestamp(self, timestamp)
        _set_subscription(self, subscription)
        _set_deployment(self, deployment)
        _set_meters(self, meters)
        _set_metered(self, metered)
        _set_stream(self, stream)
        _set_model(self, model)
        _set_subscription_name(self, subscription_name)
        _set_product(self, product)
        _set_operation(self, operation)
        _set_api_version(self, api_version)
        _set_region(self, region)
        _set_status_code(self, status_code)
        _set_schema_version(self, schema_version)
        _set_path(self, path)
        _set_end_user(self, end_user)
        _set_tags(self, tags)
        # A header naming the requested deployment itself is no spill-over.
        _set_served_deployment(self, "" if served_deployment == deployment else served_deployment)

    @property
    def month(self) -> str:
        """The billing month, ``YYYY-MM`` (UTC)."""
        return f"{self.timestamp.year:04d}-{self.timestamp.month:02d}"

    @property
    def source(self) -> str:
        """What metered the call: "gateway-logs" (API Management's resource logs, schema_version 3: cached
        tokens not reported, so input is priced as uncached input) or "policy" (a v1 or v2 event)."""
        return "gateway-logs" if self.schema_version == 3 else "policy"

    @property
    def priced_deployment(self) -> str:
        """The deployment whose rates (or pool) the call is charged at: the one that served it."""
        return self.served_deployment or self.deployment


def _setter(name: str) -> Callable[[UsageRecord, object], None]:
    setter: Callable[[UsageRecord, object], None] = getattr(UsageRecord, name).__set__
    return setter


_set_record_id, _set_timestamp, _set_subscription, _set_deployment = map(
    _setter, ("record_id", "timestamp", "subscription", "deployment"))
_set_meters, _set_metered, _set_stream, _set_model = map(_setter, ("meters", "metered", "stream", "model"))
_set_subscription_name, _set_product, _set_operation, _set_api_version = map(
    _setter, ("subscription_name", "product", "operation", "api_version"))
_set_region, _set_status_code, _set_schema_version, _set_path = map(
    _setter, ("region", "status_code", "schema_version", "path"))
_set_end_user, _set_tags, _set_served_deployment = map(_setter, ("end_user", "tags", "served_deployment"))
