"""A generated month of tens of thousands of FOCUS rows, checked against the generator's integer totals."""
from __future__ import annotations

from decimal import Decimal

from chargeback.actuals.mapping import read_month_actuals
from chargeback.config.loading import parse_config
from devhost.generate.cost_export import write_focus_month
from tests.fixtures.cost_exports import ACTUALS_CONFIG

TARGETS = {"gpt 4o 0806 Inp glbl Tokens": "gpt-4o/input", "gpt 4o 0806 cached Inp glbl Tokens": "gpt-4o/cached_input",
           "gpt 4o 0806 Outp glbl Tokens": "gpt-4o/output"}


def test_generated_month_totals_match_the_generator(tmp_path):
    path = tmp_path / "focus-2026-10.csv"
    expected = write_focus_month(path, "2026-10", rows=40_000, seed=11)
    with path.open("rb") as stream:
        month = read_month_actuals(stream, path.name, "2026-10", parse_config(ACTUALS_CONFIG))
    assert expected.rows == 40_000 and 15_000 < expected.kept_rows < 25_000
    assert (month.rows_read, month.rows_kept) == (expected.rows, expected.kept_rows)
    mapped = {m.target: m for m in month.mapped}
    assert set(mapped) == set(TARGETS.values())
    for meter, target in TARGETS.items():
        assert mapped[target].cost * 10**6 == expected.cost_micros[meter]
        assert mapped[target].quantity == expected.tokens[meter]
    [unmapped] = month.unmapped
    assert unmapped.cost * 10**6 == expected.cost_micros["gpt 4o mini 0718 Inp glbl Tokens"]
    assert month.total_cost == Decimal(sum(expected.cost_micros.values())) / 10**6
