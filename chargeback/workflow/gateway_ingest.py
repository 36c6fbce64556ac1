"""Ingest of Azure Monitor records (API Management resource logs) arriving on the usage hub.

The usage hub carries two kinds of message: the policy's v1/v2 events and, in the gateway-logs
metering mode (DESIGN.md "Metering streams without buffering"), Azure Monitor envelopes
``{"records": [...]}``. ``split_envelopes`` takes the envelopes out of a batch; their halves go to the
halves store, which returns the usage records of the streamed calls it could complete.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from chargeback.errors import InvalidEvent
from chargeback.settings import settings
from chargeback.usage.events import DeadLetter, RawEvent, dead_letter
from chargeback.usage.gateway_logs import Half, MonthHalves, is_monitor_envelope, parse_envelope
from chargeback.usage.record import UsageRecord
from chargeback.workflow.ports import UsageSink

_decode = json.JSONDecoder(parse_float=Decimal).decode


class GatewayHalvesSink(Protocol):
    """Where the halves of calls from the resource logs are joined (chargeback/storage/gateway_halves)."""

    def add(self, halves: Iterable[Half]) -> list[UsageRecord]: ...


def _looks_like_envelope(body: bytes) -> bool:
    """A cheap look before decoding: a v2 event starts with "schemaVersion", an envelope with "records"."""
    return b'"records"' in body[:64]


def split_envelopes(events: list[RawEvent]) -> tuple[list[RawEvent], list[Half], list[DeadLetter]]:
    """(the policy's events, the envelopes' halves, dead letters of envelope records that are not valid).

    A record that is not a valid half is set aside as a dead letter of its message, with the reason;
    the message's valid records still count (one bad record must not lose the others)."""
    plain: list[RawEvent] = []
    halves: list[Half] = []
    dead: list[DeadLetter] = []
    for raw in events:
        if not _looks_like_envelope(raw.body):
            plain.append(raw)
            continue
        try:
            doc = _decode(raw.body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            plain.append(raw)   # parse_event names what is wrong with it
            continue
        if not is_monitor_envelope(doc):
            plain.append(raw)
            continue
        try:
            found, problems = parse_envelope(doc)
        except InvalidEvent as exc:   # pragma: no cover - parse_envelope reports per record
            found, problems = [], [str(exc)]
        halves.extend(found)
        if problems:
            dead.append(dead_letter(raw, "gateway log records: " + "; ".join(problems)[:900]))
    return plain, halves, dead


class GatewayHalvesSource(Protocol):
    """The month's halves, as the invoicing run reports them, and their retention (storage/gateway_halves.py)."""

    def month(self, month: str) -> MonthHalves: ...

    def list_for_run(self, month: str, now: datetime) -> MonthHalves: ...

    def purge(self, now: datetime, grace: timedelta) -> Any: ...


def run_gateway_warnings(halves: GatewayHalvesSource, month: str, now: datetime | None = None,
                         grace_days: int | None = None) -> list[str]:
    """An invoicing run's warnings about the month's gateway logs; listing them starts the retention grace of
    the month and its lone halves, and what earlier months' grace allows is removed (policies/README.md)."""
    now = now or datetime.now(UTC)
    found = halves.list_for_run(month, now)
    halves.purge(now, timedelta(days=settings().gateway_halves_grace_days if grace_days is None else grace_days))
    return gateway_warnings(found)


def gateway_warnings(halves: MonthHalves) -> list[str]:
    """The run's warnings about the gateway logs of the month: lone halves are usage not (yet) billed."""
    warnings = []
    if halves.streamed_calls:
        warnings.append(f"{halves.streamed_calls} streamed call(s) metered from API Management gateway logs "
                        "(GatewayLlmLogs): those logs report no cached tokens, so their input is priced at the "
                        "deployment's input rate (cached input not discounted)")
    if halves.lone_llm:
        tokens = sum(h.prompt_tokens + h.completion_tokens for h in halves.lone if h.kind == "llm")
        warnings.append(f"{halves.lone_llm} gateway LLM log record(s) without their GatewayLogs request "
                        f"({tokens} tokens, no subscription known): not invoiced; "
                        "`chargeback gateway unmatched` lists them")
    if halves.lone_requests:
        warnings.append(f"{halves.lone_requests} GatewayLogs request(s) without an LLM log record (calls to "
                        "other APIs, refused calls, or an LLM log still to come): `chargeback gateway unmatched` "
                        "lists them")
    return warnings


class _Letters(Protocol):
    def update_reason(self, letter_id: str, reason: str) -> None: ...

    def remove(self, letter: Any) -> None: ...


class _Letter(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def reason(self) -> str: ...

    def raw_event(self) -> RawEvent: ...


def replay_envelope(letter: _Letter, letters: _Letters, usage: UsageSink,
                    halves_store: GatewayHalvesSink) -> bool | None:
    """Replay a dead-lettered envelope: None if it is not one; True when all its records now parse (their
    halves stored again, harmless for those stored the first time), False when some still do not."""
    plain, halves, dead = split_envelopes([letter.raw_event()])
    if plain:
        return None
    if dead:
        if dead[0].reason != letter.reason:
            letters.update_reason(letter.id, dead[0].reason)
        return False
    records = halves_store.add(halves)
    _, refused = usage.write_checked(records) if records else (0, [])
    if refused:
        letters.update_reason(letter.id, refused[0][1])
        return False
    letters.remove(letter)
    return True
