"""Issue 11: an event the parser accepts is storable; one storage refuses anyway is set aside, never halts
the partition. Each case is one poison event among valid ones, through the real trigger into Azurite."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import chargeback.settings
from chargeback.storage import usage_table
from chargeback.usage.events import RawEvent
from chargeback.workflow.ingesting import ingest_batch
from devhost.ingest_runner import ingest_lines


def v2_event(i: int, **extra) -> str:
    doc = {"schemaVersion": 2, "requestId": f"req-{i:05d}", "timestamp": "2026-10-03T14:05:09.123Z",
           "subscriptionId": f"sub-{i % 4}", "deploymentId": "gpt-4o",
           "usage": {"prompt_tokens": 100, "completion_tokens": 10}}
    doc.update(extra)
    return json.dumps(doc)


def v1_event(prompt: str, key: str = "k-1", timestamp: str = "10/7/2026 3:15:00 PM") -> str:
    return json.dumps({"timestamp": timestamp, "appSubscriptionKey": key, "promptTokens": prompt,
                       "completionTokens": "1", "totalTokens": "2"})


def reread_settings() -> None:
    """Settings are read once per process: forget them so the next use reads the environment."""
    if hasattr(chargeback.settings, "use_settings"):
        chargeback.settings.use_settings(None)
    else:
        chargeback.settings.settings.cache_clear()


@pytest.fixture
def count_cap(monkeypatch):
    """Set CHARGEBACK_MAX_COUNT_PER_CALL for one test."""
    def set_cap(value: int) -> None:
        monkeypatch.setenv("CHARGEBACK_MAX_COUNT_PER_CALL", str(value))
        reread_settings()
    yield set_cap
    monkeypatch.delenv("CHARGEBACK_MAX_COUNT_PER_CALL", raising=False)
    reread_settings()


def among_valid(poison: list[str], valid: int = 2000) -> list[str]:
    lines = [v2_event(i) for i in range(valid)]
    for n, line in enumerate(poison):
        lines.insert((n * 7919) % len(lines), line)
    return lines


def reasons(app_services) -> list[str]:
    return sorted(d.reason for d in app_services.dead_letters.list())


def test_a_count_of_2_31_is_set_aside_as_implausible_and_the_other_2000_are_stored(app_services):
    poison = [v2_event(9001, usage={"prompt_tokens": 2**31, "completion_tokens": 1}),
              v1_event("123456789012")]   # 12 digits: the v1 rule allows it
    result = ingest_lines(among_valid(poison), batch_size=500)
    assert (result.stored, result.dead_lettered) == (2000, 2)
    assert app_services.usage.count("2026-10") == 2000
    assert all("implausible usage" in r for r in reasons(app_services))


def test_a_count_above_2_31_is_stored_exactly_when_the_cap_allows_it(app_services, count_cap):
    count_cap(2**62)
    result = ingest_lines([v2_event(1, usage={"prompt_tokens": 2**40 + 3, "completion_tokens": 2**31}),
                           v1_event("999999999999")], batch_size=10)
    assert (result.stored, result.dead_lettered) == (2, 0)
    records = [r for p in app_services.usage.partitions("2026-10") for r in app_services.usage.read_partition(p)]
    assert sorted((r.prompt_tokens, r.completion_tokens) for r in records) == [
        (999_999_999_999, 1), (1_099_511_627_779, 2_147_483_648)]


def test_dead_letters_of_a_partition_past_sequence_number_2_31_are_stored(app_services):
    events = [RawEvent(b"{broken", "3", 2**31 + 5, "99"), RawEvent(v2_event(1).encode(), "3", 2**40, "100")]
    result = ingest_batch(events, app_services.usage, app_services.dead_letters)
    assert (result.stored, result.dead_lettered) == (1, 1)
    (letter,) = app_services.dead_letters.list()
    assert letter.sequence_number == 2**31 + 5 and letter.raw_event().sequence_number == 2**31 + 5


def test_thirty_large_malformed_bodies_in_one_batch_are_all_set_aside(app_services):
    poison = ["{" + chr(ord("a") + n % 26) * 29_990 for n in range(30)]
    result = ingest_lines(among_valid(poison, valid=200), batch_size=1000)
    assert (result.stored, result.dead_lettered) == (200, 30)
    bodies = sorted(d.body for d in app_services.dead_letters.list())
    assert bodies == sorted(poison)


def test_a_body_of_emoji_under_the_character_limit_but_over_64_kib_goes_to_a_blob(app_services):
    emoji = "\U0001f600" * 29_000   # 29,000 characters, 116,000 bytes in UTF-16
    result = ingest_lines([v2_event(1), emoji], batch_size=10)
    assert (result.stored, result.dead_lettered) == (1, 1)
    (letter,) = app_services.dead_letters.list()
    assert letter.body == emoji and letter.body_blob
    app_services.dead_letters.remove(letter)   # the blob goes with it
    assert list(app_services.dead_letters.list()) == []


def test_huge_ids_are_set_aside_or_bounded_never_refused(app_services):
    poison = [v2_event(9001, subscriptionId="s" * 40_000), v2_event(9002, deploymentId="d" * 70_000)]
    result = ingest_lines(among_valid(poison, valid=300), batch_size=500)
    assert result.stored + result.dead_lettered == 302 and result.stored >= 300
    assert any("subscriptionId is longer than 256" in r for r in reasons(app_services))


@pytest.mark.parametrize("timestamp", ["1600-12-31T23:59:59Z", "1999-12-31T23:59:59Z", "3000-01-01T00:00:00Z",
                                       "0001-01-01T00:00:00Z"])
def test_timestamps_outside_the_invoiceable_range_are_set_aside(app_services, timestamp):
    result = ingest_lines([v2_event(1), v2_event(2, timestamp=timestamp)], batch_size=10)
    assert (result.stored, result.dead_lettered) == (1, 1)
    (reason,) = reasons(app_services)
    assert "outside the invoiceable years 2000-2999" in reason


def test_the_edges_of_the_invoiceable_range_are_stored(app_services):
    edges = [v2_event(1, timestamp="2000-01-01T00:00:00Z"), v2_event(2, timestamp="2999-12-31T23:59:59.999Z")]
    assert ingest_lines(edges, batch_size=10).stored == 2
    assert app_services.usage.count("2000-01") == app_services.usage.count("2999-12") == 1


def test_a_row_storage_refuses_is_split_down_and_set_aside_with_storages_reason(app_services, monkeypatch):
    """The safety net: a row refused for a reason that is not an outage (here a property over 64 KiB that a
    future mapping bug could write) costs only that row, with storage's own error as the reason."""
    real = usage_table.record_to_entity

    def with_a_bug(record, shards):
        entity = real(record, shards)
        if record.record_id == "req-00137":
            entity["Model"] = "m" * 40_000   # 80,000 bytes of UTF-16
        return entity
    monkeypatch.setattr(usage_table, "record_to_entity", with_a_bug)
    result = ingest_lines([v2_event(i) for i in range(250)], batch_size=250)
    assert (result.stored, result.dead_lettered) == (249, 1)
    assert app_services.usage.count("2026-10") == 249
    (letter,) = app_services.dead_letters.list()
    assert letter.reason.startswith("storage refused the record: 400")
    assert json.loads(letter.body)["requestId"] == "req-00137"


def test_a_refused_letter_is_kept_on_replay(app_services, monkeypatch):
    from chargeback.usage.events import DeadLetter
    from chargeback.workflow.ingesting import replay_dead_letters
    app_services.dead_letters.add([DeadLetter("old reason", v2_event(5), "utf-8", "0", 1, "1",
                                              datetime(2026, 10, 3, tzinfo=UTC))])
    real = usage_table.record_to_entity
    monkeypatch.setattr(usage_table, "record_to_entity",
                        lambda record, shards: {**real(record, shards), "Model": "m" * 40_000})
    result = replay_dead_letters(app_services.dead_letters, app_services.usage)
    assert (result.replayed, result.still_invalid) == (0, 1)
    (letter,) = app_services.dead_letters.list()
    assert letter.reason.startswith("storage refused the record")


def test_a_100000_deep_json_line_goes_through_the_trigger_and_is_set_aside(app_services):
    deep = "[" * 100_000 + "]" * 100_000
    result = ingest_lines([v2_event(1), deep, v2_event(2)], batch_size=10)
    assert (result.stored, result.dead_lettered) == (2, 1)
    assert reasons(app_services) == ["body is not JSON"]
