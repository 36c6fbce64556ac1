"""Actuals in Table Storage (Azurite), and the `chargeback actuals` commands over it."""
from __future__ import annotations

import io
import json
from decimal import Decimal

from chargeback.actuals.mapping import read_month_actuals
from chargeback.config.loading import parse_config
from devhost.cli import main
from tests.fixtures.cost_exports import (
    ACTUALS_CONFIG,
    AOAI,
    FOCUS_1_2,
    HAND_PTU,
    HAND_ROWS,
    HAND_TOTAL,
    export_text,
    focus_row,
    write_export,
)

CONFIG = parse_config(ACTUALS_CONFIG)


def hand_rows() -> list[dict[str, str]]:
    meter, cost, hours, resource = HAND_PTU
    return [*(focus_row(m, c, q, resource=r) for m, c, q, r in HAND_ROWS),
            focus_row(meter, cost, hours, resource=resource, unit="1 Hour")]


def imported(rows: list[dict[str, str]], month: str = "2026-10"):
    return read_month_actuals(io.BytesIO(export_text(FOCUS_1_2, rows).encode()), "focus.csv", month, CONFIG)


def test_save_get_and_replace_a_month(app_services):
    store = app_services.actuals
    assert store.get("2026-10") is None
    first = imported(hand_rows())
    store.save(first)
    assert store.get("2026-10") == first
    # importing again replaces the month's whole set: the first import's unmapped meter is gone
    second = imported([focus_row("gpt 4o 0806 Outp glbl Tokens", "4.00", "400")])
    store.save(second)
    again = store.get("2026-10")
    assert again == second and again.unmapped == () and again.total_cost == Decimal("4.00")
    store.save(imported([focus_row("gpt 4o 0806 Outp glbl Tokens", "1.00", "1", day="2026-09-30")], "2026-09"))
    assert store.months() == ["2026-09", "2026-10"]


def test_commands_import_show_and_refuse_without_touching_the_stored_month(app_services, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(ACTUALS_CONFIG, encoding="utf-8")
    assert main(["config", "import", str(config)]) == 0
    export = write_export(tmp_path / "focus-2026-10.csv.gz", FOCUS_1_2, hand_rows(), gzipped=True)
    assert main(["actuals", "import", str(export), "--month", "2026-10", "--json"]) == 0
    capsys.readouterr()

    assert main(["actuals", "show", "2026-10", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["total_cost"] == HAND_TOTAL and shown["export_format"] == "FOCUS 1.2"
    assert [u["meter_name"] for u in shown["unmapped"]] == ["gpt 4o mini 0718 Inp glbl Tokens"]

    assert main(["actuals", "show", "2026-10"]) == 0
    text = capsys.readouterr().out
    assert "gpt 4o mini 0718 Inp glbl Tokens" in text and "746.65 USD" in text

    bad = tmp_path / "bad.csv"
    bad.write_text(export_text(FOCUS_1_2, [focus_row("gpt 4o 0806 Outp glbl Tokens", "ten", "1", resource=AOAI)]))
    assert main(["actuals", "import", str(bad), "--month", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}, line 2, column EffectiveCost: 'ten' is not a number" in err
    assert "stored actuals of 2026-10 are unchanged" in err
    assert app_services.actuals.get("2026-10").total_cost == Decimal(HAND_TOTAL)

    assert main(["actuals", "show", "2026-08"]) == 1
    assert "no actuals imported for 2026-08" in capsys.readouterr().err


def test_an_export_in_parts_is_imported_in_one_command(app_services, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(ACTUALS_CONFIG, encoding="utf-8")
    assert main(["config", "import", str(config)]) == 0
    rows = hand_rows()
    first = write_export(tmp_path / "part_0_0001.csv", FOCUS_1_2, rows[:4])
    second = write_export(tmp_path / "part_0_0002.csv.gz", FOCUS_1_2, rows[4:], gzipped=True)
    assert main(["actuals", "import", str(first), str(second), "--month", "2026-10"]) == 0
    assert f"export {first} + {second} for 2026-10: 7 rows read, 6 of the configured resources" in (
        capsys.readouterr().out)
    assert app_services.actuals.get("2026-10").total_cost == Decimal(HAND_TOTAL)
