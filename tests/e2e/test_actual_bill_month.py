"""A month invoiced in true_up mode through the local host: at list with a warning until the actuals are
imported, then revised onto Azure's actual bill."""
from __future__ import annotations

import io

from chargeback.actuals.mapping import read_month_actuals
from chargeback.config.loading import parse_config
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


def test_true_up_month_at_list_until_actuals_then_revised(local_host, month_loaded):
    config = parse_config(CONFIG + ACTUALS)
    month_loaded.config.save(config)
    first = local_host.run_month("2026-10", timeout=120)["output"]
    assert {i["department"]: i["total"] for i in first["invoices"]} == EXPECTED_TOTALS

    rows = [focus_row(meter, cost, quantity, unit="1 Hour" if "Provisioned" in meter else "1K Tokens")
            for meter, cost, quantity in EXPORT]
    month_loaded.actuals.save(read_month_actuals(io.BytesIO(export_text(FOCUS_1_2, rows).encode()), "focus.csv",
                                                 "2026-10", config))
    status = local_host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    revised = status["output"]
    by_dept = {i["department"]: i for i in revised["invoices"]}
    assert {d: i["total"] for d, i in by_dept.items()} == EXPECTED_ACTUAL
    assert all((i["version"], i["revision"]) == (2, True) for i in by_dept.values())
    assert revised["grand_total"] == "253.80"
