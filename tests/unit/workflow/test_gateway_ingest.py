"""ingest_batch with Azure Monitor envelopes, over in-memory ports: refusals and a host without the halves store."""
from __future__ import annotations

import json

from chargeback.usage.events import RawEvent
from chargeback.usage.gateway_logs import LlmHalf, RequestHalf, complete
from chargeback.workflow.ingesting import ingest_batch

CALL = "ab000000-0000-4000-8000-0000000000ab"
ENVELOPE = json.dumps({"records": [
    {"time": "2026-07-01T10:00:00Z", "category": "GatewayLogs", "correlationId": CALL,
     "properties": {"apimSubscriptionId": "sub-x", "responseCode": 200}},
    {"time": "2026-07-01T10:00:01Z", "category": "GatewayLlmLogs",
     "properties": {"CorrelationId": CALL, "DeploymentName": "gpt-4o", "PromptTokens": 4, "CompletionTokens": 2,
                    "IsStreamCompletion": True}}]}).encode()


class Halves:
    """Joins in memory, as the table store does."""

    def __init__(self):
        self.rows = {}

    def add(self, halves):
        for h in halves:
            self.rows[(h.correlation_id, "request" if isinstance(h, RequestHalf) else f"llm-{h.sequence}")] = h
        done = []
        for cid in sorted({h.correlation_id for h in halves}):
            req = [h for (c, _), h in self.rows.items() if c == cid and isinstance(h, RequestHalf)]
            llm = [h for (c, _), h in self.rows.items() if c == cid and isinstance(h, LlmHalf)]
            record = complete(req[0], llm) if req and llm else None
            if record is not None:
                done.append(record)
        return done


class Usage:
    def __init__(self, refuse=()):
        self.refuse, self.rows = set(refuse), {}

    def write_checked(self, records):
        refused = [({"RowKey": r.record_id}, "storage refused the record: too big") for r in records
                   if r.record_id in self.refuse]
        for r in records:
            if r.record_id not in self.refuse:
                self.rows[r.record_id] = r
        return len(records) - len(refused), refused


class Letters:
    def __init__(self):
        self.letters = []

    def add(self, letters):
        self.letters.extend(letters)
        return len(letters)


def test_a_completed_call_storage_refuses_is_set_aside_with_its_message():
    usage, letters = Usage(refuse={CALL}), Letters()
    result = ingest_batch([RawEvent(ENVELOPE, "0", 5)], usage, letters, None, Halves())
    assert (result.stored, result.dead_lettered) == (0, 1)
    [letter] = letters.letters
    assert letter.reason == "storage refused the record: too big" and json.loads(letter.body)["records"]


def test_without_a_halves_store_an_envelope_is_a_dead_letter_not_dropped():
    usage, letters = Usage(), Letters()
    result = ingest_batch([RawEvent(ENVELOPE, "0", 6)], usage, letters)
    assert (result.stored, result.dead_lettered, result.gateway_halves) == (0, 1, 0)
    assert "unknown schema" in letters.letters[0].reason


def test_with_the_store_the_call_is_stored_once():
    usage, letters = Usage(), Letters()
    result = ingest_batch([RawEvent(ENVELOPE, "0", 7)], usage, letters, None, Halves())
    assert (result.stored, result.dead_lettered, result.gateway_halves) == (1, 0, 2)
    assert usage.rows[CALL].meters.input == 4
