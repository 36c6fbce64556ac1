"""Ingest: a batch of Event Hub messages -> stored usage records, dead letters and telemetry."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from chargeback.errors import InvalidEvent
from chargeback.usage.events import DeadLetter, RawEvent, dead_letter, parse_batch, parse_event
from chargeback.workflow.gateway_ingest import GatewayHalvesSink, replay_envelope, split_envelopes
from chargeback.workflow.ports import BatchTelemetry, DeadLetterArchive, DeadLetterSink, Letter, UsageSink


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    dead_lettered: int = 0
    unmetered: int = 0
    gateway_halves: int = 0   # API Management resource-log records (halves of calls) stored for the join

    def add(self, other: IngestResult) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def ingest_batch(events: Iterable[RawEvent], usage_store: UsageSink, dead_letter_store: DeadLetterSink,
                 telemetry: BatchTelemetry | None = None,
                 gateway_halves: GatewayHalvesSink | None = None) -> IngestResult:
    """Store every valid event and set every invalid one aside; raise if storage is out.

    Raising is the point: the host then retries the whole batch, which is safe because both writes
    are idempotent upserts keyed by the event. Only an outage raises: a record storage refuses (a
    4xx about the row) would be refused on every retry and halt the partition, so it is set aside
    with storage's reason instead.
    """
    events = list(events)
    plain, halves, dead_records = split_envelopes(events) if gateway_halves is not None else (events, [], [])
    records, dead = parse_batch(plain)
    dead = dead_records + dead
    if halves and gateway_halves is not None:   # halves first: a completed call is then written below
        records = records + gateway_halves.add(halves)
    stored, refused = usage_store.write_checked(records) if records else (0, [])
    if refused:
        reasons = {entity["RowKey"]: reason for entity, reason in refused}
        records = [r for r in records if r.record_id not in reasons]
        dead = dead + _refused_letters(events, reasons)
    if dead:
        dead_letter_store.add(dead)
    if telemetry is not None:
        telemetry.record_batch(records, dead)
    return IngestResult(received=len(events), stored=stored, dead_lettered=len(dead),
                        unmetered=sum(1 for r in records if not r.metered), gateway_halves=len(halves))


def _refused_letters(events: list[RawEvent], reasons: dict[str, str]) -> list[DeadLetter]:
    """The events whose records storage refused (rare: parsing the batch again costs nothing then)."""
    letters = []
    for raw in events:
        try:
            reason = reasons.get(parse_event(raw).record_id)
        except Exception:   # set aside by parse_batch already, or an envelope
            _, halves, _ = split_envelopes([raw])   # a call completed from it was refused: keep the message
            reason = next((reasons[h.correlation_id] for h in halves if h.correlation_id in reasons), None)
        if reason is not None:
            letters.append(dead_letter(raw, reason))
    return letters


@dataclass
class ReplayResult:
    replayed: int = 0
    still_invalid: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def replay_dead_letters(dead_letter_store: DeadLetterArchive[Letter], usage_store: UsageSink,
                        letter_ids: list[str] | None = None,
                        gateway_halves: GatewayHalvesSink | None = None) -> ReplayResult:
    """Parse dead letters again; store those that now parse and remove them, keep the rest."""
    result = ReplayResult()
    wanted = set(letter_ids) if letter_ids else None
    for letter in list(dead_letter_store.list()):
        if wanted is not None and letter.id not in wanted:
            continue
        if gateway_halves is not None:
            replayed = replay_envelope(letter, dead_letter_store, usage_store, gateway_halves)
            if replayed is not None:   # an Azure Monitor envelope: replayed (True) or still invalid
                result.replayed += replayed
                result.still_invalid += not replayed
                continue
        try:
            record = parse_event(letter.raw_event())
        except InvalidEvent as exc:
            result.still_invalid += 1
            if str(exc) != letter.reason:
                dead_letter_store.update_reason(letter.id, str(exc))
            continue
        _, refused = usage_store.write_checked([record])
        if refused:
            result.still_invalid += 1
            dead_letter_store.update_reason(letter.id, refused[0][1])
            continue
        dead_letter_store.remove(letter)
        result.replayed += 1
    return result
