"""A month invoiced in true_up mode through the local host: at list with a warning until the actuals are
imported, then revised onto Azure's actual bill."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl

from chargeback.actuals.mapping import read_month_actuals
from chargeback.config.loading import parse_config
from chargeback.storage.documents import EXPORTS, INVOICES
from tests.fixtures.cost_exports import AOAI, FOCUS_1_2, export_text, focus_row

from .conftest import CONFIG, EXPECTED_TOTALS

ACTUALS = f"""actuals:
  mode: true_up
  resources: ["{AOAI}"]
  meters:
    "gpt 4o 0806 Inp glbl Tokens":        {{deployment: gpt-4o, meter: input}}
    "gpt 4o 0806 cached Inp glbl Tokens": {{deployment: gpt-4o, meter: cached_input}}
    "gpt 4o 0806 Outp glbl Tokens":       {{deployment: gpt-4o, meter: output}}
    "Provisioned Managed Global":         {{pool: gpt-4o-ptu}}
"""
# Measured (conftest OCTOBER): gpt-4o input 800,000 marketing + 400,000 sales, cached 200,000 marketing,
# output 100,000 marketing + 50,000 sales; pool weighted 3,000 marketing : 5,976 sales.
EXPORT = [("gpt 4o 0806 Inp glbl Tokens", "2.40", "1200"),          # 1.60 marketing, 0.80 sales
          ("gpt 4o 0806 cached Inp glbl Tokens", "0.20", "200"),    # 0.20 marketing
          ("gpt 4o 0806 Outp glbl Tokens", "1.20", "150"),          # 0.80 marketing, 0.40 sales
          ("Provisioned Managed Global", "250.00", "744")]          # 250 x 3000/8976 = 83.5561..., 166.4438...
# marketing 86.156149..., sales 167.643850...; 253.80 in cents: floors 8615 + 16764, the cent left goes to
# marketing (remainder .61 > .39): 86.16 and 167.64.
EXPECTED_ACTUAL = {"marketing": "86.16", "sales": "167.64"}


def save_azure_export(services, config) -> None:
    """Import EXPORT as Azure's FOCUS 1.2 cost export of October."""
    rows = [focus_row(meter, cost, quantity, unit="1 Hour" if "Provisioned" in meter else "1K Tokens")
            for meter, cost, quantity in EXPORT]
    services.actuals.save(read_month_actuals(io.BytesIO(export_text(FOCUS_1_2, rows).encode()), "focus.csv",
                                             "2026-10", config))


def test_true_up_month_at_list_until_actuals_then_revised(local_host, month_loaded):
    config = parse_config(CONFIG + ACTUALS)
    month_loaded.config.save(config)
    first = local_host.run_month("2026-10", timeout=120)["output"]
    assert {i["department"]: i["total"] for i in first["invoices"]} == EXPECTED_TOTALS

    save_azure_export(month_loaded, config)
    status = local_host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    revised = status["output"]
    by_dept = {i["department"]: i for i in revised["invoices"]}
    assert {d: i["total"] for d, i in by_dept.items()} == EXPECTED_ACTUAL
    assert all((i["version"], i["revision"]) == (2, True) for i in by_dept.values())
    assert revised["grand_total"] == "253.80"


def test_actual_mode_month_through_the_host_reads_back_as_azure_billed(local_host, month_loaded):
    config = parse_config(CONFIG + ACTUALS.replace("mode: true_up", "mode: actual"))
    month_loaded.config.save(config)
    save_azure_export(month_loaded, config)
    status = local_host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert {i["department"]: i["total"] for i in status["output"]["invoices"]} == EXPECTED_ACTUAL
    index = {e.department: e for e in month_loaded.invoice_index.month("2026-10")}
    sheet = openpyxl.load_workbook(io.BytesIO(month_loaded.documents.get(INVOICES, index["sales"].blob)))["Invoice"]
    values = [list(r) for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    start = next(i for i, r in enumerate(values) if r[0] == "Azure's actual cost, per meter") + 2
    # sales, in cents: input 80 (400,000 of 1,200,000 billed x 2.40), output 40 (50,000 of 150,000 x 1.20),
    # pool 25,000 x 5,976 / 8,976 = 16,644.385; its total 16,764: the -0.385 spread by size leaves floors
    # 79, 39, 16,644 and the two cents go to input (.998) and output (.999): 0.80, 0.40, 166.44
    assert [(r[0], r[3], r[4], r[11]) for r in values[start:start + 4]] == [
        ("gpt-4o", 400_000, 1_200_000, 0.8), ("gpt-4o", 50_000, 150_000, 0.4),
        ("gpt-4o-ptu", 5_976, 8_976, 166.44), ("Your part of Azure's actual bill", None, None, 167.64)]
    focus = list(csv.DictReader(io.StringIO(month_loaded.documents.get(EXPORTS, "2026-10/focus.csv").decode())))
    assert sum(Decimal(r["EffectiveCost"]) for r in focus) == Decimal("253.80")
    assert sum(Decimal(r["BilledCost"]) for r in focus) == Decimal("253.80")
    summary = openpyxl.load_workbook(io.BytesIO(month_loaded.documents.get(INVOICES, "2026-10/finance-summary.xlsx")))
    assert "Reconciliation" in summary.sheetnames
