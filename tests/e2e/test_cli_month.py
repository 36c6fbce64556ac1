"""The `chargeback` command line over a month: run-month, invoices list and get."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl

from devhost.cli import main

from .conftest import EXPECTED_TOTALS


def test_run_month_then_list_and_get_an_invoice(month_loaded, tmp_path, capsys):
    assert main(["run-month", "2026-10", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["runtime_status"] == "Completed"
    assert {i["department"]: i["total"] for i in run["output"]["invoices"]} == EXPECTED_TOTALS

    assert main(["invoices", "list", "2026-10", "--json"]) == 0
    listed = {e["department"]: e for e in json.loads(capsys.readouterr().out)}
    assert {d: e["total"] for d, e in listed.items()} == EXPECTED_TOTALS
    assert listed["sales"]["version"] == 1 and listed["sales"]["blob"].endswith("CB-2026-10-SALES-1.xlsx")

    target = tmp_path / "sales.xlsx"
    assert main(["invoices", "get", "2026-10", "sales", "-o", str(target)]) == 0
    workbook = openpyxl.load_workbook(target)
    sheet_name, cell = next(iter(workbook.defined_names["InvoiceTotal"].destinations))
    assert Decimal(str(workbook[sheet_name][cell.replace("$", "")].value)) == Decimal("201.23")


def test_get_for_a_month_without_invoices_says_so(month_loaded, tmp_path, capsys):
    assert main(["invoices", "get", "2026-09", "sales", "-o", str(tmp_path / "x.xlsx")]) == 1
    assert "no invoice for sales in 2026-09" in capsys.readouterr().err
    assert main(["run-month", "2026-13"]) == 2
    assert "month must be YYYY-MM" in capsys.readouterr().err


def test_run_month_on_a_terminal_prints_the_stages_and_partitions_its_status_knows(month_loaded, capsys,
                                                                                  monkeypatch):
    monkeypatch.setenv("CHARGEBACK_PROGRESS", "always")
    assert main(["run-month", "2026-10"]) == 0
    err = capsys.readouterr().err
    assert "storage: " in err
    assert re.search(r"aggregating: \d+/\d+ partitions", err)
    stages = [line.strip().split(":")[0] for line in err.splitlines() if line.startswith("  ")]
    assert stages.index("aggregating") < stages.index("rendering invoices")   # in the order they ran
    monkeypatch.setenv("CHARGEBACK_PROGRESS", "never")
    assert main(["run-month", "2026-10"]) == 0
    assert "aggregating" not in capsys.readouterr().err


def test_invoices_get_without_output_writes_the_workbooks_own_name(month_loaded, tmp_path, capsys, monkeypatch):
    assert main(["run-month", "2026-10", "--json"]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["invoices", "get", "2026-10", "Sales"]) == 0        # any case on the command line
    assert (tmp_path / "CB-2026-10-SALES-1.xlsx").is_file()
    assert "to CB-2026-10-SALES-1.xlsx" in capsys.readouterr().out


def test_invoices_list_filters_by_department_and_unknown_ones_list_the_known(month_loaded, capsys):
    assert main(["run-month", "2026-10", "--json"]) == 0
    capsys.readouterr()
    assert main(["invoices", "list", "2026-10", "MARKETING", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["department"] for e in listed] == ["marketing"] and listed[0]["total"] == "103.52"
    assert main(["invoices", "get", "2026-10", "finance"]) == 2
    err = capsys.readouterr().err
    assert "unknown department 'finance'; known: marketing, sales, unallocated" in err


def _keys(data) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in _keys(v)}
    if isinstance(data, list):
        return {k for v in data for k in _keys(v)}
    return set()


def test_every_json_listing_keeps_snake_case_keys(month_loaded, capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"schemaVersion": 2, "requestId": "no-subscription"}) + "\n")
    commands = [["ingest", str(bad)], ["run-month", "2026-10"], ["invoices", "list", "2026-10"], ["usage", "2026-10"],
                ["config", "show"], ["config", "versions"], ["deadletters", "list"]]
    for argv in commands:
        assert main([*argv, "--json"]) in (0, 1), argv
        keys = _keys(json.loads(capsys.readouterr().out))
        assert keys, argv
        odd = sorted(k for k in keys if not re.fullmatch(r"[a-z0-9_]+", k)
                     and not re.fullmatch(r"[a-z0-9-]+", k))     # department ids and meters may be keys
        assert odd == [], (argv, odd)


def test_demo_with_json_narrates_on_stderr_and_prints_the_summary(app_services, tmp_path, capsys, monkeypatch):
    from devhost import local_stack
    monkeypatch.setattr(local_stack, "_described", "")
    out = tmp_path / "out"
    assert main(["demo", "--month", "2026-10", "--events", "400", "--departments", "2", "--out", str(out),
                 "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)            # stdout is the JSON alone
    assert "== 1. generate 2026-10" in captured.err and "storage: " in captured.err
    assert summary["month"] == "2026-10" and summary["run"]["records"] > 0
    assert summary["files"] and all(Path(f).is_file() for f in summary["files"])
    assert {i["department"] for i in summary["run"]["invoices"]} >= {"unallocated"}
