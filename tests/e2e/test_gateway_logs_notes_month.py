"""Issue 15: the month of tests/e2e/test_gateway_logs_month.py (both metering modes) says, on each concerned
department's invoice and on its FOCUS rows, which calls were metered from the gateway logs (no cached tokens
reported, so their input is priced at the input rate); and the spill-over month's FOCUS pool rows are split
by end user. Totals unchanged; figures worked out by hand."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from io import BytesIO

import openpyxl

from chargeback.config.loading import parse_config
from chargeback.storage.documents import EXPORTS, INVOICES
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

from .conftest import CONFIG
from .test_gateway_logs_month import A, B, C, D, E, envelope, llm_record, request_record, v2

FIRST = [v2(A, "sub-mkt", 1_000_000, 100_000, cached=200_000),
         envelope(request_record(A, "sub-mkt"), llm_record(A, 1_000_000, 100_000, stream=False)),
         envelope(request_record(B, "sub-mkt"), llm_record(B, 400_000, 50_000)),
         envelope(llm_record(C, 200_000, 100_000)), v2(D, "sub-sales", 100_000, 0, stream=True),
         envelope(llm_record(E, 1_000_000, 0))]
LATER = [envelope(request_record(C, "sub-sales")), envelope(llm_record(C, 200_000, 100_000)),
         envelope(request_record(D, "sub-sales"), llm_record(D, 100_000, 0))]


def first_page(app_services, department: str) -> list[str]:
    entry = next(e for e in app_services.invoice_index.month("2026-10") if e.department == department)
    sheet = openpyxl.load_workbook(BytesIO(app_services.documents.get(INVOICES, entry.blob)))["Invoice"]
    return [str(c.value) for row in sheet.iter_rows(max_row=14) for c in row if c.value]


def test_the_invoices_and_focus_rows_say_which_calls_came_from_the_gateway_logs(app_services):
    app_services.config.save(parse_config(CONFIG))
    ingest_lines(FIRST, batch_size=2)
    ingest_lines(LATER, batch_size=1)
    with LocalHost(retry_delay_scale=0.001) as host:
        status = host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    totals = {i["department"]: i["total"] for i in status["output"]["invoices"]}
    assert totals == {"marketing": "4.75", "sales": "1.75", "unallocated": "300.00"}   # as before
    # marketing: B from the logs (A by its v2 event); sales: C and D (D's row is the logs' completion, the same
    # row id as its v2 event: one call, its input priced as uncached either way)
    notes = {d: [t for t in first_page(app_services, d) if "gateway logs" in t] for d in ("marketing", "sales")}
    assert notes["marketing"] == [
        "1 streamed call(s) (gpt-4o 1) were metered from API Management gateway logs, which report no cached "
        "tokens: their input is priced at the deployment's input rate (cached input not discounted)."]
    assert notes["sales"] and notes["sales"][0].startswith("2 streamed call(s) (gpt-4o 2)")
    assert not [t for t in first_page(app_services, "unallocated") if "gateway logs" in t]

    focus = list(csv.DictReader(io.StringIO(app_services.documents.get(EXPORTS, "2026-10/focus.csv").decode())))
    payg = [(r["SubAccountId"], r["x_Meter"], r["ConsumedQuantity"], r["BilledCost"],
             json.loads(r["Tags"]).get("chargeback/meteredBy")) for r in focus if r["x_ChargeKind"] == "payg"]
    # marketing input 1,200,000 -> 3.00: A's 800,000 -> 2.00, B's 400,000 (logs) -> 1.00; cached 200,000 (A)
    # -> 0.25; output 150,000 -> 1.50: A 100,000 -> 1.00, B 50,000 -> 0.50.
    # sales: every call from the logs: input 300,000 -> 0.75, output 100,000 -> 1.00, one row each.
    assert payg == [
        ("marketing", "input", "800000", "2.00", None), ("marketing", "input", "400000", "1.00", "gateway-logs"),
        ("marketing", "cached_input", "200000", "0.25", None),
        ("marketing", "output", "100000", "1.00", None), ("marketing", "output", "50000", "0.50", "gateway-logs"),
        ("sales", "input", "300000", "0.75", "gateway-logs"), ("sales", "output", "100000", "1.00", "gateway-logs")]
    assert sum(Decimal(r["BilledCost"]) for r in focus) == Decimal("306.50")


def test_focus_rows_of_a_pool_share_split_by_end_user(app_services):
    from .test_spillover_attribution_month import CONFIG as SPILL_CONFIG
    from .test_spillover_attribution_month import OCTOBER

    app_services.config.save(parse_config(SPILL_CONFIG))
    ingest_lines(OCTOBER)
    with LocalHost(retry_delay_scale=0.001) as host:
        assert host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
    focus = list(csv.DictReader(io.StringIO(app_services.documents.get(EXPORTS, "2026-10/focus.csv").decode())))
    pool = [(r["x_Meter"], r["BilledCost"], json.loads(r["Tags"]).get("chargeback/endUser"),
             json.loads(r["Tags"]).get("app")) for r in focus
            if r["x_ChargeKind"] == "pool-share" and r["SubAccountId"] == "sales"]
    # sales' pool share 171.43 (tests/e2e/test_spillover_attribution_month.py): weighted input 3,000 (bob 2,000,
    # cy 1,000), output 4 x 250 = 1,000 (bob): input 128.5725, output 42.8575 -> 128.57 and 42.86 (the cent to
    # .0075 over .0025). Input 128.57 by quantity: bob 85.7133..., cy 42.8566... -> 85.71 and 42.86.
    assert pool == [("input", "85.71", "bob", "web"), ("input", "42.86", "cy", "web"),
                    ("output", "42.86", "bob", "web")]
    assert sum(Decimal(b) for _m, b, _u, _a in pool) == Decimal("171.43")
