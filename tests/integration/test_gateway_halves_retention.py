"""Issue 15: retention of the gateway-log halves on Azurite. Joined calls' halves go once their month was
first listed by a run ``grace`` ago; a lone half only once a run listed it ``grace`` ago; never before."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chargeback.storage.gateway_halves import MONTHS_PARTITION, Purged
from chargeback.workflow.gateway_ingest import run_gateway_warnings
from chargeback.workflow.ingesting import ingest_batch
from tests.integration.test_gateway_logs_ingest import envelope, gateway, llm

JOINED = "10000000-0000-4000-8000-000000000001"
ACROSS = "10000000-0000-4000-8000-000000000002"   # request on 31 March, its LLM record on 1 April
LONE_LLM = "10000000-0000-4000-8000-000000000003"
LATE = "10000000-0000-4000-8000-000000000004"      # a lone request that arrives after March was listed
APRIL = "10000000-0000-4000-8000-000000000005"
GRACE = timedelta(days=35)
RUN = datetime(2026, 4, 2, 6, tzinfo=UTC)           # March's invoicing run


def rows(app_services, correlation: str) -> list[str]:
    return sorted(e["RowKey"] for e in app_services.gateway_halves.table.query_entities(
        "PartitionKey eq @c", parameters={"c": correlation}))


def test_retention_removes_joined_halves_after_the_grace_and_lone_ones_only_once_listed(app_services):
    s = app_services

    def add(*events):
        ingest_batch(list(events), s.usage, s.dead_letters, None, s.gateway_halves)

    store = s.gateway_halves
    add(envelope(gateway(JOINED), llm(JOINED, 100, 10)),
        envelope(gateway(ACROSS, time="2026-03-31T23:59:59.9000000Z"),
                 llm(ACROSS, 50, 5, time="2026-04-01T00:00:03.0000000Z")),
        envelope(llm(LONE_LLM, 7, 0)),
        envelope(gateway(APRIL, time="2026-04-03T10:00:00Z"), llm(APRIL, 1, 1, time="2026-04-03T10:00:01Z")))
    assert s.usage.count("2026-03") == 2                    # JOINED and ACROSS billed when joined

    warnings = run_gateway_warnings(store, "2026-03", now=RUN, grace_days=35)
    assert any(w.startswith("1 gateway LLM log record(s)") for w in warnings)   # LONE_LLM listed
    add(envelope(gateway(LATE, time="2026-03-30T08:00:00Z")))   # after the run: no run has listed it

    # Within the grace nothing goes, however often retention runs.
    assert store.purge(RUN + GRACE - timedelta(seconds=1), GRACE) == Purged(0, 0, 0)
    assert rows(s, JOINED) == ["llm-0000000000", "request"] and rows(s, LONE_LLM) == ["llm-0000000000"]

    # Grace passed: joined calls' halves go (ACROSS's April half with it); LONE_LLM was listed at the run: it
    # goes too; LATE was never listed: kept.
    assert store.purge(RUN + GRACE, GRACE) == Purged(joined_calls=2, lone_halves=1, lone_kept=1)
    assert rows(s, JOINED) == rows(s, ACROSS) == rows(s, LONE_LLM) == []
    assert rows(s, LATE) == ["request"]
    assert rows(s, APRIL) == ["llm-0000000000", "request"]   # April was never listed: untouched
    assert s.usage.count("2026-03") == 2                     # the billed usage stays

    # A rerun lists LATE; it goes only a grace after that listing, then the month is done.
    rerun = RUN + timedelta(days=40)
    assert [h.correlation_id for h in store.list_for_run("2026-03", rerun).lone] == [LATE]
    assert store.purge(rerun + GRACE - timedelta(days=1), GRACE) == Purged(0, 0, 1)
    assert store.purge(rerun + GRACE, GRACE) == Purged(0, 1, 0)
    assert rows(s, LATE) == []
    marker = store.table.get_entity(MONTHS_PARTITION, "2026-03")
    assert marker["Done"] is True and marker["ListedAt"] == RUN   # the first listing counts, not the rerun
    assert store.purge(rerun + GRACE * 3, GRACE) == Purged(0, 0, 0)   # a done month is not read again
    assert store.month("2026-03").lone == () and store.month("2026-04").lone == ()


def test_a_redelivered_lone_half_is_listed_again_before_it_can_go(app_services):
    s = app_services
    ingest_batch([envelope(llm(LONE_LLM, 7, 0))], s.usage, s.dead_letters, None, s.gateway_halves)
    s.gateway_halves.list_for_run("2026-03", RUN)
    # redelivered after the run (the upsert replaces the row: its listing is gone)
    ingest_batch([envelope(llm(LONE_LLM, 7, 0))], s.usage, s.dead_letters, None, s.gateway_halves)
    assert s.gateway_halves.purge(RUN + GRACE, GRACE) == Purged(0, 0, 1)
    assert rows(s, LONE_LLM) == ["llm-0000000000"]
