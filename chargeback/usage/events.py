"""Usage events on the wire (v1: the seed's policy, v2: this product's policy) -> UsageRecord."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

import msgspec

from chargeback.errors import InvalidEvent
from chargeback.keys import fingerprint, is_fingerprint
from chargeback.months import FIRST_YEAR, LAST_YEAR, invoiceable
from chargeback.settings import settings
from chargeback.usage import attribution
from chargeback.usage.meters import FIELDS, MeterQuantities
from chargeback.usage.record import UsageRecord
from chargeback.usage.shapes import normalise_usage
from chargeback.usage.wire_time import parse_v1_timestamp, parse_v2_timestamp

if TYPE_CHECKING:
    from chargeback.settings import Settings

# Every top-level field of a v2 event the parser reads. policies/ must emit exactly these
# (a contract test holds the two together).
V2_FIELDS = frozenset({
    "schemaVersion", "requestId", "timestamp", "subscriptionId", "subscriptionName", "productName",
    "deploymentId", "operationId", "apiVersion", "region", "statusCode", "stream", "model", "usage",
    "path", "inputCharacters", "endUser", "tags", "servedDeployment",
})

# The seed's v1 fields (strings as the .NET policy formats them).
V1_FIELDS = frozenset({
    "timestamp", "appSubscriptionKey", "promptTokens", "completionTokens", "totalTokens", "deploymentId",
})

# Exact numbers (a duration of 42.5 s stays 42.5); one decoder, not one per event as json.loads(**kw) builds.
# The standard library's decoder is the contract; msgspec's (twice as fast) reads what both read alike, and
# whatever it refuses (a BOM, NaN, lone surrogates, nesting past its depth) goes to the contract, which decides.
_decode = json.JSONDecoder(parse_float=Decimal).decode
_fast_decode = msgspec.json.Decoder(float_hook=Decimal).decode
# Request ids become Table Storage row keys: keep them to characters keys allow.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,200}$")
# A subscription id becomes a property (64 KiB at most) and, hashed when unsafe, part of a key.
MAX_SUBSCRIPTION_ID = 256
# Key-bearing fields, scrubbed from anything kept (dead letters included), even from broken JSON.
_SECRET_FIELD_RE = re.compile(
    r'("(?:appSubscriptionKey|subscriptionKey|Ocp-Apim-Subscription-Key|api-key)"\s*:\s*")((?:[^"\\]|\\.)*)(")',
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One Event Hub message as the trigger received it, with its coordinates."""

    body: bytes
    partition: str = ""
    sequence_number: int = -1
    offset: str = ""
    enqueued_time: datetime | None = None
    # True only for a body this product scrubbed itself (a stored dead letter): there a v1 key that is a
    # fingerprint is the fingerprint of the original key. On the wire a v1 key is always hashed.
    key_scrubbed: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event set aside with its reason, its (scrubbed) body and where it came from."""

    reason: str
    body: str                 # text with any key replaced by its fingerprint; base64 if not UTF-8
    body_encoding: str        # "utf-8" or "base64"
    partition: str
    sequence_number: int
    offset: str
    enqueued_time: datetime | None

    @property
    def dead_letter_id(self) -> str:
        """Stable per event, so a redelivered bad event is set aside once."""
        return _digest(self.partition, self.sequence_number, self.body.encode("utf-8"))


def _digest(partition: str, sequence_number: int, body: bytes) -> str:
    h = hashlib.sha256(f"{partition}\n{sequence_number}\n".encode())
    h.update(body)
    return h.hexdigest()


def scrub_secrets(text: str) -> str:
    """Replace every key-bearing field's value by its fingerprint (even one that looks like a fingerprint)."""
    def replace(m: re.Match[str]) -> str:
        return str(m.group(1)) + fingerprint(m.group(2)) + str(m.group(3))
    return _SECRET_FIELD_RE.sub(replace, text)


def parse_batch(events: list[RawEvent]) -> tuple[list[UsageRecord], list[DeadLetter]]:
    """Split a batch into usage records and dead letters; never raises for bad input."""
    records: list[UsageRecord] = []
    dead: list[DeadLetter] = []
    for raw in events:
        try:
            records.append(parse_event(raw))
        except InvalidEvent as exc:
            dead.append(dead_letter(raw, str(exc)))
        except Exception as exc:  # a parser bug must not sink the batch; the event is kept for replay
            dead.append(dead_letter(raw, f"unexpected parser error: {type(exc).__name__}"))
    return records, dead


def dead_letter(raw: RawEvent, reason: str) -> DeadLetter:
    try:
        text, encoding = scrub_secrets(raw.body.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(raw.body).decode("ascii"), "base64"
    return DeadLetter(reason, text, encoding, raw.partition, raw.sequence_number, raw.offset,
                      raw.enqueued_time)


def parse_event(raw: RawEvent) -> UsageRecord:
    """Parse one event body (v1 or v2) into a usage record, or raise InvalidEvent with the reason."""
    doc = _document(raw.body)
    if not isinstance(doc, dict):
        raise InvalidEvent(f"body is a JSON {type(doc).__name__}, not an object")
    version = doc.get("schemaVersion")
    if version == 2 and version.__class__ is int:
        return _parse_v2(doc)
    if isinstance(version, bool):
        raise InvalidEvent(f"unknown schemaVersion {version!r} (this version reads 1 and 2)")
    if (version is None and "appSubscriptionKey" in doc) or version == 1:
        return _storable(_parse_v1(doc, raw))
    if version == 2:
        return _parse_v2(doc)
    if version is None:
        raise InvalidEvent("unknown schema: no schemaVersion and no appSubscriptionKey")
    raise InvalidEvent(f"unknown schemaVersion {version!r} (this version reads 1 and 2)")


def _document(body: bytes) -> object:
    """The body's JSON value, read as UTF-8 with an optional BOM (what the ``utf-8-sig`` codec does)."""
    try:
        # msgspec reads the bytes themselves: its strings go through Python's strict UTF-8 decoder.
        return _fast_decode(body)
    except (ValueError, RecursionError):   # UnicodeDecodeError is a ValueError
        pass
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidEvent("body is not UTF-8 text") from None
    try:
        return _decode(text)
    except (ValueError, RecursionError):
        raise InvalidEvent("body is not JSON") from None


def _parse_v1(doc: dict[str, Any], raw: RawEvent) -> UsageRecord:
    key = doc.get("appSubscriptionKey")
    if not isinstance(key, str) or not key.strip():
        raise InvalidEvent("no subscription: appSubscriptionKey is missing or empty")
    # A key that looks like a fingerprint is still a key: fingerprints are public (config, FOCUS export).
    subscription = key if raw.key_scrubbed and is_fingerprint(key) else fingerprint(key)
    timestamp = parse_v1_timestamp(doc.get("timestamp"))
    prompt = v1_count(doc, "promptTokens", required=True)
    completion = v1_count(doc, "completionTokens", required=False)
    v1_count(doc, "totalTokens", required=False)
    deployment = _optional_text(doc, "deploymentId")
    # The id hashes the scrubbed body, so a replayed dead letter gets the id it would have had.
    scrubbed = dict(doc, appSubscriptionKey=subscription)
    # Numbers with a fraction or exponent decode as Decimal (exact), which json cannot write back: they hash
    # as their text. The id also hashes the event's partition and sequence number, so a number and a string
    # of the same text never meet under one id.
    body = json.dumps(scrubbed, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
    record_id = "v1-" + _digest(raw.partition, raw.sequence_number, body)[:40]
    return UsageRecord(record_id=record_id, timestamp=timestamp, subscription=subscription,
                       deployment=deployment, meters=MeterQuantities.from_text_tokens(prompt, 0, completion),
                       schema_version=1)


def v1_count(doc: dict[str, Any], field: str, required: bool) -> int:
    value = doc.get(field)
    if value is None:
        if required:
            raise InvalidEvent(f"{field} is missing")
        return 0
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise InvalidEvent(f"{field} must be a non-negative integer, got {_show(value)}")


def _parse_v2(doc: dict[str, Any]) -> UsageRecord:
    get = doc.get
    request_id = get("requestId")
    if request_id.__class__ is not str or not _REQUEST_ID_RE.fullmatch(request_id):
        raise InvalidEvent(f"requestId must be an id of letters, digits and ._:@-, got {_show(request_id)}")
    subscription = get("subscriptionId")
    if subscription.__class__ is not str or not (subscription := subscription.strip()):
        raise InvalidEvent("no subscription: subscriptionId is missing or empty")
    if len(subscription) > MAX_SUBSCRIPTION_ID:
        raise InvalidEvent(f"subscriptionId is longer than {MAX_SUBSCRIPTION_ID} characters")
    timestamp = parse_v2_timestamp(get("timestamp"))
    stream = get("stream", False)
    if stream.__class__ is not bool:
        raise InvalidEvent(f"stream must be true or false, got {_show(stream)}")
    status = get("statusCode", 200)
    if status.__class__ is not int or not 0 <= status <= 999:   # JSON's ints are exact ints (bool is apart)
        raise InvalidEvent(f"statusCode must be an HTTP status (0-999), got {_show(status)}")
    deployment, model, name, product, operation, api_version, region, path = _texts(doc)
    characters = get("inputCharacters")
    usage = normalise_usage(get("usage"), path,
                            None if characters is None else _optional_count(doc, "inputCharacters"))
    current = settings()
    # The optional fields are mostly null: their readers are called only for a value.
    end_user = "" if get("endUser") is None else attribution.end_user(doc, current.end_user_hash_key)
    tags = () if get("tags") is None else attribution.tags(doc)
    served = "" if get("servedDeployment") is None else attribution.served_deployment(doc)
    return _storable(UsageRecord(request_id, timestamp, subscription, deployment, 0, 0, 0, 0, usage.metered, stream,
                                 model, name, product, operation, api_version, region, status, 2,
                                 meters=usage.meters, path=path, end_user=end_user, tags=tags,
                                 served_deployment=served), current)


# The optional text fields of a v2 event, in the order _parse_v2 unpacks them.
_V2_TEXTS = ("deploymentId", "model", "subscriptionName", "productName", "operationId", "apiVersion", "region",
             "path")
_V2_TEXT_VALUES = itemgetter(*_V2_TEXTS)
_QUANTITIES = attrgetter(*FIELDS)   # the policy sends every field (null when it has none)


def _texts(doc: dict[str, Any]) -> list[str]:
    """``_optional_text`` of each of ``_V2_TEXTS`` (eight per event, so the common case runs in C, not a loop)."""
    values: tuple[Any, ...]
    try:
        values = _V2_TEXT_VALUES(doc)
    except KeyError:   # a producer that leaves fields out
        values = tuple(map(doc.get, _V2_TEXTS))
    if None in values:
        values = tuple("" if value is None else value for value in values)
    try:
        texts = list(map(str.strip, values))
    except TypeError:   # a field that is not text: the first one is named
        return [_optional_text(doc, field) for field in _V2_TEXTS]
    if max(map(len, texts)) > _MAX_TEXT:
        return [text[:_MAX_TEXT] for text in texts]
    return texts


def _storable(record: UsageRecord, current: Settings | None = None) -> UsageRecord:
    """Refuse what storage could hold but never invoice, or what no call can have used."""
    if not invoiceable(record.timestamp):
        raise InvalidEvent(f"timestamp {record.timestamp.isoformat()} is outside the invoiceable years "
                           f"{FIRST_YEAR}-{LAST_YEAR}")
    cap = (settings() if current is None else current).max_count_per_call
    quantities = _QUANTITIES(record.meters)   # MeterQuantities.values(), in one C call
    if max(quantities) > cap:   # one comparison on the hot path; the loop only names the meter
        for name, value in zip(FIELDS, quantities, strict=True):
            if value > cap:
                raise InvalidEvent(f"implausible usage: {name} {value} is above {cap} per call "
                                   "(CHARGEBACK_MAX_COUNT_PER_CALL)")
    return record


def _optional_text(doc: dict[str, Any], field: str) -> str:
    value = doc.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEvent(f"{field} must be text, got {_show(value)}")
    return value.strip()[:_MAX_TEXT]


_MAX_TEXT = 256


def _optional_count(doc: dict[str, Any], field: str) -> int | None:
    value = doc.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEvent(f"{field} must be a non-negative integer, got {_show(value)}")
    return value


def _show(value: object) -> str:
    text = str(value) if isinstance(value, (float, Decimal)) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
