"""A month with spill-over and with end users and tags, through the ingest and the real orchestration."""
from __future__ import annotations

import csv
import io
import json
from io import BytesIO

import openpyxl
import pytest

from chargeback.config.loading import parse_config
from chargeback.storage.documents import INVOICES, RUNS
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

# Figures worked out by hand in the comments.
CONFIG = """
currency: USD
departments:
  - {id: marketing, name: Marketing, subscriptions: [sub-mkt]}
  - {id: sales, name: Sales, subscriptions: [sub-sales]}
prices:
  - {deployment: gpt-4o-paygo, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
pools:
  - {deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 300.00, weights: {input: 1, output: 4}}
"""


def event(request_id, subscription, prompt, completion, served=None, user=None, tags=None, day=10):
    body = {"schemaVersion": 2, "requestId": request_id, "timestamp": f"2026-10-{day:02d}T12:00:00.000Z",
            "subscriptionId": subscription, "deploymentId": "gpt-4o-ptu", "stream": False, "statusCode": 200,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion}}
    body.update({k: v for k, v in (("servedDeployment", served), ("endUser", user), ("tags", tags)) if v})
    return json.dumps(body)


OCTOBER = [
    event("m-1", "sub-mkt", 1_000, 500, user="ann", tags=["app=web"]),        # PTU: 1,000 + 4 x 500 = 3,000
    event("s-1", "sub-sales", 2_000, 250, user="bob", tags=["app=web"]),      # PTU: 2,000 + 4 x 250 = 3,000
    event("s-2", "sub-sales", 2_000_000, 100_000, served="gpt-4o-paygo",      # spilled: 5.00 + 1.00 = 6.00
          user="bob", tags=["app=bot", "team=x"]),
    event("s-3", "sub-sales", 1_000, 0, user="cy", tags="app=web,bad tag"),  # PTU: 1,000
]
# Pool 300.00 by weighted tokens of the PTU-served calls only: marketing 3,000, sales 3,000 + 1,000 = 4,000
# (of 7,000): 128.571... and 171.428...; floors 128.57 + 171.42 = 299.99, the cent to the larger remainder
# (.714 > .285, sales'): 128.57 and 171.43. Had the spilled call counted, sales would weigh
# 4,000 + 2,000,000 + 400,000 and take 299.63 of it.
# Sales: 171.43 + 6.00 = 177.43; marketing 128.57; grand total 306.00.
EXPECTED = {"marketing": "128.57", "sales": "177.43"}


@pytest.fixture
def loaded(app_services):
    app_services.config.save(parse_config(CONFIG))
    assert ingest_lines(OCTOBER).stored == len(OCTOBER)
    return app_services


def test_spilled_calls_at_payg_on_their_own_line_and_top_users_in_the_workbook(loaded):
    host = LocalHost(retry_delay_scale=0.001)
    try:
        status = host.run_month("2026-10", timeout=120)
    finally:
        host.close()
    assert status["runtimeStatus"] == "Completed", status.get("output")
    output = status["output"]
    assert {i["department"]: i["total"] for i in output["invoices"]} == EXPECTED
    assert output["grand_total"] == "306.00"
    charges = loaded.documents.get_json(RUNS, f"2026-10/{output['run_id']}/charges.json")
    [pool] = charges["pools"]
    assert (pool["weighted_tokens"], pool["shares"]) == ("7000", {"marketing": "128.57", "sales": "171.43"})
    sales_lines = next(d for d in charges["departments"] if d["department"] == "sales")["lines"]
    spilled = [line for line in sales_lines if line.get("spilled_from")]
    assert [(s["deployment"], s["spilled_from"], s["requests"], s["amount"]) for s in spilled] == [
        ("gpt-4o-paygo", "gpt-4o-ptu", 1, "6.00")]

    index = {e.department: e for e in loaded.invoice_index.month("2026-10")}
    workbook = openpyxl.load_workbook(BytesIO(loaded.documents.get(INVOICES, index["sales"].blob)))
    deployments = [c.value for row in workbook["Invoice"].iter_rows() for c in row[1:2] if c.value]
    assert "gpt-4o-paygo (spilled from gpt-4o-ptu)" in deployments
    sheet = workbook["Users and tags"]
    rows = [tuple(c.value for c in row[:4]) for row in sheet.iter_rows(min_row=5) if row[0].value]
    # bob: 2,250 + 2,100,000 = 2,102,250 tokens in 2 calls; cy: 1,000 in 1. Tags: app=bot and team=x
    # 2,100,000 (the spilled call); app=web 2,250 + 1,000 = 3,250 in 2 ("bad tag" dropped, the call kept)
    assert rows == [("End user", "bob", 2, 2_102_250), ("End user", "cy", 1, 1_000),
                    ("Tag", "app=bot", 1, 2_100_000), ("Tag", "team=x", 1, 2_100_000),
                    ("Tag", "app=web", 2, 3_250)]
    focus = list(csv.DictReader(io.StringIO(loaded.documents.get("exports", "2026-10/focus.csv").decode())))
    tagged = [row for row in focus if "chargeback/spilledFrom" in json.loads(row["Tags"])]
    # the spilled line's two meter rows (input, output), on the deployment that served them
    assert sorted((r["ResourceId"], r["x_Meter"], r["BilledCost"]) for r in tagged) == [
        ("gpt-4o-paygo", "input", "5.00"), ("gpt-4o-paygo", "output", "1.00")]
    # the spilled call was bob's, tagged app=bot and team=x: its rows say so (issue 15; user tags unprefixed)
    assert all(json.loads(r["Tags"]) == {"chargeback/costCenter": "", "chargeback/department": "sales",
                                         "chargeback/spilledFrom": "gpt-4o-ptu", "chargeback/endUser": "bob",
                                         "app": "bot", "team": "x"} for r in tagged)
    marketing = openpyxl.load_workbook(BytesIO(loaded.documents.get(INVOICES, index["marketing"].blob)))
    assert [tuple(c.value for c in r[:4]) for r in marketing["Users and tags"].iter_rows(min_row=5)] == [
        ("End user", "ann", 1, 1_500), ("Tag", "app=web", 1, 1_500)]


def test_cli_usage_by_user_and_by_tag(loaded, capsys):
    from devhost.cli import main

    assert main(["usage", "2026-10", "--by", "user", "--json"]) == 0
    # same sums as the workbook: ann 1,500; bob 2,250 + 2,100,000; cy 1,000
    assert json.loads(capsys.readouterr().out)["rows"] == [
        {"department": "marketing", "end_user": "ann", "requests": 1, "tokens": 1_500},
        {"department": "sales", "end_user": "bob", "requests": 2, "tokens": 2_102_250},
        {"department": "sales", "end_user": "cy", "requests": 1, "tokens": 1_000}]
    assert main(["usage", "2026-10", "--by", "tag"]) == 0
    out = capsys.readouterr().out
    assert "Top 10 tags per department in 2026-10" in out and "team=x" in out and "bad" not in out


def test_the_portal_section_shows_the_latest_runs_top_users(loaded):
    from chargeback.owners.portal import DepartmentHistory
    from chargeback.owners.portal_attribution import attribution_sections
    from chargeback.workflow.invoicing import load_attribution

    host = LocalHost(retry_delay_scale=0.001)
    try:
        assert host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
    finally:
        host.close()
    [entry] = [e for e in loaded.invoice_index.month("2026-10") if e.department == "sales"]
    sections = attribution_sections(lambda m, r, d: load_attribution(loaded.documents, m, r, d),
                                    [DepartmentHistory("sales", "Sales", "", (entry,)),
                                     DepartmentHistory("idle", "Idle", "", ())])
    assert list(sections) == ["sales"]
    html = sections["sales"]
    assert '<th scope="row">bob</th><td class="num">2</td><td class="num">2,102,250</td>' in html
    assert '<th scope="row">app=web</th><td class="num">2</td><td class="num">3,250</td>' in html
