"""The monthly orchestrator's own logic, driven by the SDK's test helper (no host, no storage).

``orchestrator_generator_wrapper`` sends each yielded task's ``result`` back into the generator (or
throws what reading it raises), as replay does; the fake context below answers the activity calls.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.durable_functions.testing import orchestrator_generator_wrapper

from activities.names import (
    AGGREGATE_PARTITION,
    MTD_CHANGED_PARTITIONS,
    NOTIFY_DEPARTMENT,
    PRICE_MONTH,
    RECORD_RUN,
    RENDER_INVOICE,
    RENDER_MONTH_DOCUMENTS,
)
from orchestrations.monthly import monthly_invoicing

STARTED = datetime(2026, 11, 1, 2, 0, 5, 123456, tzinfo=UTC)


class FakeTask:
    """What the SDK's tasks offer the wrapper: ``result``, raising when the task failed."""

    def __init__(self, value=None, error: Exception | None = None, children: tuple = ()):
        self.value, self.error, self.children = value, error, children

    @property
    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


class FakeContext:
    """The ``context.*`` calls the orchestrator makes, answered from ``answers`` (activity name -> input -> value)."""

    def __init__(self, month: str, answers: dict, failing: dict[str, Exception] | None = None):
        self.month, self.answers, self.failing = month, answers, failing or {}
        self.calls: list[tuple[str, dict]] = []          # activity calls, in the order they were made
        self.retries: list = []                          # the retry options of each call
        self.groups: list[list[str]] = []                # each task_all: the activity names inside it
        self.statuses: list[dict] = []

    current_utc_datetime = STARTED

    def get_input(self) -> dict:
        return {"month": self.month, "trigger": "http"}

    def set_custom_status(self, status: dict) -> None:
        self.statuses.append(status)

    def call_activity_with_retry(self, name: str, retry, request: dict) -> FakeTask:
        self.calls.append((name, request))
        self.retries.append(retry)
        if name in self.failing:
            return FakeTask(error=self.failing[name])
        return FakeTask(self.answers[name](request))

    def task_all(self, tasks: list[FakeTask]) -> FakeTask:
        self.groups.append([name for name, _ in self.calls[len(self.calls) - len(tasks):]])
        failed = next((t.error for t in tasks if t.error is not None), None)
        return FakeTask([t.value for t in tasks], error=failed, children=tuple(tasks))


def invoice(department: str) -> dict:
    return {"department": department, "name": department.title(), "total": "10.00", "currency": "USD",
            "version": 1, "revision": False, "changed": True, "invoice_number": f"CB-2026-10-{department}-1",
            "blob": f"2026-10/{department}/x.xlsx", "month": "2026-10", "run_id": "r", "content_hash": "sha256:0",
            "generated_at": "2026-11-01T00:00:00+00:00"}


def answers(partitions: int, departments: tuple[str, ...] = ("marketing", "sales")) -> dict:
    return {
        MTD_CHANGED_PARTITIONS: lambda r: [{"partition": f"2026-10~p{i:02d}", "watermark": f"W/{i}"}
                                           for i in range(partitions)],
        AGGREGATE_PARTITION: lambda r: [{"partition": p["partition"], "records": 3} for p in r["refresh"]],
        PRICE_MONTH: lambda r: {"month": "2026-10", "run_id": r["run_id"], "config_fingerprint": "sha256:cfg",
                                "currency": "USD", "grand_total": "20.00", "departments": list(departments),
                                "warnings": ["w"], "unpriced": 0, "records": 5},
        RENDER_INVOICE: lambda r: [invoice(d) for d in r["departments"]],
        RENDER_MONTH_DOCUMENTS: lambda r: {"finance_summary": "invoices/2026-10/finance-summary.xlsx",
                                           "focus_export": "exports/2026-10/focus.csv"},
        RECORD_RUN: lambda r: {"revised": [], "new": [i["department"] for i in r["invoices"]]},
        NOTIFY_DEPARTMENT: lambda r: [{"department": i["department"], "version": 1, "revision": False,
                                       "deliveries": [{"channel": "email", "status": "sent", "attempts": 1,
                                                       "error": ""}], "skipped": ""} for i in r["invoices"]],
    }


def run(context: FakeContext):
    """Drive the orchestrator to its end; its output."""
    generator = monthly_invoicing.build().get_user_function().orchestrator_function(context)
    *_, output = orchestrator_generator_wrapper(generator)
    return output


@pytest.mark.parametrize(("partitions", "departments"), [(40, 20), (1497, 200), (3, 2)])
def test_the_fan_out_stays_at_sixteen_activities_whatever_the_partitions_and_departments(partitions, departments):
    names = tuple(f"dept-{i:03d}" for i in range(departments))
    context = FakeContext("2026-10", answers(partitions=partitions, departments=names))
    output = run(context)
    calls = [name for name, _ in context.calls]
    bound = min(16, partitions)
    assert calls.count(AGGREGATE_PARTITION) == bound
    assert calls.count(RENDER_INVOICE) == calls.count(NOTIFY_DEPARTMENT) == min(16, departments)
    assert len(calls) <= 4 + 3 * 16
    batches = [r["refresh"] for name, r in context.calls if name == AGGREGATE_PARTITION]
    assert [p for batch in batches for p in batch] == [{"partition": f"2026-10~p{i:02d}", "watermark": f"W/{i}"}
                                                       for i in range(partitions)]   # each once, in order
    assert max(map(len, batches)) - min(map(len, batches)) <= 1
    rendered = [d for name, r in context.calls if name == RENDER_INVOICE for d in r["departments"]]
    assert rendered == list(names)
    notified = [i["department"] for name, r in context.calls if name == NOTIFY_DEPARTMENT for i in r["invoices"]]
    assert notified == list(names)
    progress = [s["partitions_done"] for s in context.statuses if s["stage"] == "aggregating"]
    assert progress == [0, partitions]
    assert output["partitions_read"] == partitions and output["records_read"] == 3 * partitions
    assert output["records"] == 5   # the month's, from the rollups the pricing step merged
    assert next(r for name, r in context.calls if name == PRICE_MONTH)["from_rollups"] is True
    assert [i["department"] for i in output["invoices"]] == list(names)
    assert output["notices"]["sent"] == departments


def test_stages_in_order_and_every_activity_is_called_with_the_retry_policy():
    context = FakeContext("2026-10", answers(partitions=3))
    run(context)
    stages = [s["stage"] for s in context.statuses]
    assert list(dict.fromkeys(stages)) == ["listing partitions", "aggregating", "pricing", "rendering invoices",
                                           "recording", "notifying", "done"]
    assert context.statuses[-1] == {"stage": "done", "departments": 2}
    assert {(r.max_number_of_attempts, r.first_retry_interval_in_milliseconds) for r in context.retries} == \
        {(4, 5000)}


def test_run_id_and_issue_date_come_from_the_orchestration_clock():
    context = FakeContext("2026-10", answers(partitions=1))
    output = run(context)
    assert output["run_id"] == "20261101T020005123456Z"
    renders = [r for name, r in context.calls if name == RENDER_INVOICE]
    assert {r["issue_date"] for r in renders} == {"2026-11-01"}
    assert {r["run_id"] for _, r in context.calls if "run_id" in r} == {"20261101T020005123456Z"}


def test_notices_go_out_after_the_run_is_recorded_with_only_the_notice_fields():
    context = FakeContext("2026-10", answers(partitions=2))
    output = run(context)
    names = [name for name, _ in context.calls]
    assert names.index(RECORD_RUN) < names.index(NOTIFY_DEPARTMENT)
    notified = [i for name, r in context.calls if name == NOTIFY_DEPARTMENT for i in r["invoices"]]
    assert [n["department"] for n in notified] == ["marketing", "sales"]
    assert set(notified[0]) == {"department", "name", "total", "currency", "version", "revision", "changed",
                                "invoice_number"}
    assert output["notices"]["sent"] == 2 and output["notices"]["failed"] == 0


def test_a_notify_step_that_gives_out_leaves_the_month_invoiced_with_the_reason():
    outage = RuntimeError("storage unavailable: NoticeDeliveries " + "x" * 600)
    context = FakeContext("2026-10", answers(partitions=2), failing={NOTIFY_DEPARTMENT: outage})
    output = run(context)
    assert output["notices"]["error"].startswith("notices not sent: storage unavailable: NoticeDeliveries")
    assert len(output["notices"]["error"]) == 500
    assert output["grand_total"] == "20.00" and [i["department"] for i in output["invoices"]] == ["marketing", "sales"]
    assert context.statuses[-1]["stage"] == "done"


def test_a_failed_pricing_step_fails_the_orchestration():
    context = FakeContext("2026-10", answers(partitions=2), failing={PRICE_MONTH: ValueError("no configuration")})
    with pytest.raises(ValueError, match="no configuration"):
        run(context)
    assert RENDER_INVOICE not in [name for name, _ in context.calls]


def test_a_month_with_no_usage_still_prices_records_and_returns():
    context = FakeContext("2026-10", answers(partitions=0, departments=()))
    output = run(context)
    assert output["partitions_read"] == 0 and output["records_read"] == 0 and output["invoices"] == []
    assert AGGREGATE_PARTITION not in [name for name, _ in context.calls]
    assert output["notices"]["sent"] == 0
