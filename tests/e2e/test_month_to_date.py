"""Month to date over the local host: usage arriving over simulated days, refreshes that read only what
changed, budget alerts by a real SMTP server (aiosmtpd) once per threshold, never again on reruns."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chargeback.config.loading import parse_config
from chargeback.storage.usage_table import UsageStore
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost
from devhost.mtd_commands import refresh_once
from devhost.outbox import LocalOutbox

from .conftest import event
from .partition_reads import count_partition_reads

# gpt-4o at 2.50 per 1M input tokens: 1,000,000 input tokens cost 2.50 (no markup).
CONFIG = """
currency: USD
markup_percent: 0
departments:
  - {id: marketing, name: Marketing, owners: [alice@example.com], subscriptions: [sub-mkt]}
  - {id: sales, name: Sales, owners: [bob@example.com], notify: {email: [], webhook: null},
     subscriptions: [sub-sales], budget: {monthly: BUDGET, alert_at_percent: ALERTS}}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
"""


def config(budget: str = "10.00", alerts: str = "[50, 80, 100]"):
    return parse_config(CONFIG.replace("BUDGET", budget).replace("ALERTS", alerts))


@pytest.fixture
def mtd(app_services, tmp_path, monkeypatch):
    box = LocalOutbox(tmp_path / "outbox")
    box.start()
    monkeypatch.setenv("CHARGEBACK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CHARGEBACK_SMTP_PORT", str(box._controller.port))
    monkeypatch.setenv("CHARGEBACK_SMTP_FROM", "chargeback@example.com")
    monkeypatch.setenv("CHARGEBACK_NOTIFY_BACKOFF_SECONDS", "0.01")
    from chargeback.wiring import reset_services, services
    reset_services()
    services().config.save(config())
    reads: list[str] = []
    original = UsageStore.read_partition

    def counted(self, partition, columns=None):   # every read of usage rows, wherever the store is built
        for record in original(self, partition, columns):
            reads.append(partition)
            yield record

    monkeypatch.setattr(UsageStore, "read_partition", counted)
    count_partition_reads(monkeypatch, reads)   # and the refresh's own reads (storage/usage_delta)
    yield box, reads
    box.stop()


def refresh(reads: list[str]) -> tuple[dict, list[str]]:
    reads.clear()
    status = refresh_once("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    return status["output"], list(reads)


def budget_mails(box) -> list[str]:
    subjects = (" ".join(str(m["Subject"]).split()) for m in box.messages())   # a long header is folded
    return sorted(s for s in subjects if "budget" in s)


def test_usage_over_days_refreshes_incrementally_and_alerts_once_per_threshold(mtd):
    box, reads = mtd
    ingest_lines([event("s-1", "sub-sales", "gpt-4o", 1_000_000, 0, day=1),
                  event("m-1", "sub-mkt", "gpt-4o", 4_000_000, 0, day=2)])
    out, read = refresh(reads)
    assert (out["total"], out["records_read"], len(read)) == ("12.50", 2, 2)   # 2.50 + 10.00
    early = set(read)   # days 1 and 2: the first slice(s) of the month (chargeback/storage/usage_table)
    assert out["partitions_read"] == len(early)
    assert budget_mails(box) == []   # sales at 2.50 of 10.00: 25%

    out, read = refresh(reads)   # nothing arrived: nothing read, nothing changes
    assert (out["total"], out["partitions_read"], read, out["alerts"]) == ("12.50", 0, [], [])

    # Day 20 (shard 02 of 4): 1,200,000 input = 3.00; sales 5.50 of 10.00 = 55%.
    ingest_lines([event("s-2", "sub-sales", "gpt-4o", 1_200_000, 0, day=20)])
    out, read = refresh(reads)
    assert out["total"] == "15.50" and len(read) == 1 and read[0] not in early   # only the new row's slice
    day20 = read[0]
    assert budget_mails(box) == ["Sales has used 50% of its October 2026 budget: 5.50 USD of 10.00 USD"]

    # 2,000,000 more on day 21 = 5.00: 10.50 of 10.00. The month is over (it is October 2026 in the past),
    # so the forecast is the cost so far, 10.50 > 10.00: on track to exceed.
    ingest_lines([event("s-3", "sub-sales", "gpt-4o", 2_000_000, 0, day=21)])
    out, read = refresh(reads)
    assert read == [day20] * 2   # that partition again, whole: its two rows, nothing else
    assert budget_mails(box) == sorted([
        "Sales has used 50% of its October 2026 budget: 5.50 USD of 10.00 USD",
        "Sales has used 80% of its October 2026 budget: 10.50 USD of 10.00 USD",
        "Sales has used 100% of its October 2026 budget: 10.50 USD of 10.00 USD",
        "Sales is on track to exceed its October 2026 budget: forecast 10.50 USD of 10.00 USD"])
    assert all(m["To"] == "bob@example.com" for m in box.messages())

    for _ in range(2):   # reruns: never again
        out, read = refresh(reads)
        assert (read, out["alerts"]) == ([], [])
    assert len(budget_mails(box)) == 4

    # Mid-month the budget becomes 12.00 with a 90% threshold (10.80). A late event in the oldest partition
    # (day 1, 400,000 input = 1.00) takes sales to 11.50: 90% is new; 50/80/100 and the forecast were sent.
    from chargeback.wiring import services
    services().config.save(config("12.00", "[50, 80, 90, 100]"))
    ingest_lines([event("s-4", "sub-sales", "gpt-4o", 400_000, 0, day=1)])
    out, read = refresh(reads)
    assert len(set(read)) == 1 and set(read) <= early and out["partitions_read"] == 1   # the late row's slice only
    assert out["records_read"] == len(read) >= 2
    assert out["total"] == "21.50"   # 12.50 + 3.00 + 5.00 + 1.00
    assert [a["kind"] for a in out["alerts"]] == ["budget-90"]
    assert "Sales has used 90% of its October 2026 budget: 11.50 USD of 12.00 USD" in budget_mails(box)
    assert len(budget_mails(box)) == 5

    # The month-end run prices the same usage with the same code: the same totals.
    with LocalHost(retry_delay_scale=0.001) as host:
        status = host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed"
    document = services().month_to_date.rollups.month_to_date("2026-10")
    invoiced = {i["department"]: Decimal(i["total"]) for i in status["output"]["invoices"]}
    assert {d["department"]: Decimal(d["total"]) for d in document["departments"]} == invoiced
