"""The month's invoices produced by the real orchestration through the local host."""
from __future__ import annotations

import contextlib
from decimal import Decimal
from io import BytesIO

import openpyxl

from chargeback.storage.documents import INVOICES
from chargeback.workflow import invoicing, month_to_date
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

from .conftest import EXPECTED_AFTER_LATE, EXPECTED_TOTALS, LATE


def totals(output) -> dict:
    return {i["department"]: i["total"] for i in output["invoices"]}


def test_a_month_end_to_end_matches_the_hand_computed_totals(local_host, month_loaded):
    status = local_host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    output = status["output"]
    assert totals(output) == EXPECTED_TOTALS
    assert Decimal(output["grand_total"]) == Decimal("304.75")
    assert output["records"] == 4 and status["customStatus"]["stage"] == "done"
    index = {e.department: e for e in month_loaded.invoice_index.month("2026-10")}
    assert {d: str(e.total) for d, e in index.items()} == EXPECTED_TOTALS
    assert all(e.version == 1 and not e.revision for e in index.values())
    workbook = openpyxl.load_workbook(BytesIO(month_loaded.documents.get(INVOICES, index["sales"].blob)))
    assert workbook.sheetnames  # a real workbook, stored where the index points
    props = month_loaded.documents.properties(INVOICES, index["sales"].blob)
    assert props["content_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert (props["metadata"]["department"], props["metadata"]["version"], props["metadata"]["total"]) == \
        ("sales", "1", "201.23")
    focus = month_loaded.documents.properties("exports", "2026-10/focus.csv")
    assert focus["content_type"].startswith("text/csv") and focus["metadata"]["total"] == "304.75"


def test_an_unchanged_rerun_keeps_versions_and_a_late_event_revises_one_department(local_host, month_loaded):
    first = local_host.run_month("2026-10", timeout=120)["output"]
    again = local_host.run_month("2026-10", timeout=120)["output"]
    assert totals(again) == EXPECTED_TOTALS
    assert [(i["version"], i["changed"]) for i in again["invoices"]] == [(1, False), (1, False)]

    ingest_lines(LATE)
    revised = local_host.run_month("2026-10", timeout=120)["output"]
    assert totals(revised) == EXPECTED_AFTER_LATE
    by_dept = {i["department"]: i for i in revised["invoices"]}
    assert (by_dept["marketing"]["version"], by_dept["marketing"]["changed"]) == (1, False)
    assert (by_dept["sales"]["version"], by_dept["sales"]["revision"]) == (2, True)
    versions = month_loaded.invoice_index.versions("2026-10", "sales")
    assert [(v.version, str(v.total)) for v in versions] == [(1, "201.23"), (2, "202.23")]
    kept = month_loaded.documents.list(INVOICES, "2026-10/sales/")
    assert len(kept) == 2 and versions[0].blob in kept  # the earlier workbook is kept
    # issue 13: the revision states the earlier total, the difference and why
    workbook = openpyxl.load_workbook(BytesIO(month_loaded.documents.get(INVOICES, versions[1].blob)))
    said = " ".join(str(c.value) for row in workbook["Invoice"].iter_rows() for c in row if c.value)
    assert "The earlier total was 201.23 USD; the difference is +1.00 USD (late usage)." in said
    assert revised["run_id"] != first["run_id"]


def test_the_orchestrator_replays_deterministically(local_host):
    registry = local_host.durable.registry
    recorded = []
    real = registry.run_orchestrator

    def recording(name, context_json):
        outcome = real(name, context_json)
        recorded.append((name, context_json, outcome))
        return outcome

    registry.run_orchestrator = recording
    try:
        assert local_host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
    finally:
        registry.run_orchestrator = real
    assert len(recorded) >= 5
    for name, context_json, outcome in recorded:  # the same history gives the same actions and status
        again = real(name, context_json)
        assert again.state == outcome.state


def test_a_failing_activity_is_retried_and_the_month_completes(local_host, monkeypatch):
    calls = []
    real = month_to_date.changed_partitions   # the run's first activity (month-end from the rollups)

    def flaky(ctx, month):
        calls.append(month)
        if len(calls) <= 2:
            raise ConnectionError("storage hiccup")
        return real(ctx, month)

    monkeypatch.setattr(month_to_date, "changed_partitions", flaky)
    status = local_host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed" and len(calls) == 3
    assert totals(status["output"]) == EXPECTED_TOTALS


class HostKilled(BaseException):
    """The process dying mid-activity (a BaseException aborts the local host, as a crash would)."""


def test_a_run_killed_mid_fan_out_resumes_to_identical_invoices(month_loaded, monkeypatch):
    real = invoicing.render_department_step
    rendered = []

    def dies_after_first(ctx, month, run_id, department, issue_date):
        if rendered:
            raise HostKilled()
        rendered.append(department)
        return real(ctx, month, run_id, department, issue_date)

    monkeypatch.setattr(invoicing, "render_department_step", dies_after_first)
    crashed = LocalHost(retry_delay_scale=0.001)
    instance = crashed.start_month("2026-10")
    with contextlib.suppress(BaseException):   # the simulated crash surfaces here, or as a run left unfinished
        crashed.durable.wait_for_completion(instance, timeout=60)
    crashed.close()
    assert month_loaded.invoice_index.month("2026-10") == []  # nothing recorded yet

    monkeypatch.setattr(invoicing, "render_department_step", real)
    with LocalHost(retry_delay_scale=0.001) as resumed:
        assert resumed.resume_unfinished() == [instance]
        status = resumed.durable.wait_for_completion(instance, timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert totals(status["output"]) == EXPECTED_TOTALS
    for department in EXPECTED_TOTALS:  # one version, one workbook each: no duplicate side effects
        assert [v.version for v in month_loaded.invoice_index.versions("2026-10", department)] == [1]
        assert len(month_loaded.documents.list(INVOICES, f"2026-10/{department}/")) == 1
