"""The bench's bookkeeping: min/median/max over runs, bench configs without notice channels, and the
invoice table bench_million compares between a clean and a killed-and-rerun ingest."""
from __future__ import annotations

from chargeback.config.loading import parse_config
from devhost.bench import summarize_runs
from devhost.bench_million import invoice_table
from devhost.bench_scale import without_notices
from devhost.generate.month import generate_month


def test_each_figure_is_summarized_as_min_median_max_and_ratios_by_their_median():
    runs = [{"ingest_vs_full_tx_ratio": 0.5, "full_tx_rows_per_s": 900.0},
            {"ingest_vs_full_tx_ratio": 0.7, "full_tx_rows_per_s": 800.0},
            {"ingest_vs_full_tx_ratio": 0.4, "full_tx_rows_per_s": 1000.0}]
    summary = summarize_runs(runs)
    assert summary["ingest_vs_full_tx_ratio"] == 0.5
    assert summary["min_median_max"] == {"ingest_vs_full_tx_ratio": [0.4, 0.5, 0.7],
                                         "full_tx_rows_per_s": [800.0, 900.0, 1000.0]}
    assert summary["runs"] == 3 and "full_tx_rows_per_s" not in summary   # only ratios at the top level


def test_bench_configs_have_no_notice_channel_and_are_otherwise_the_generated_config():
    generated = generate_month("2026-10", departments=5, events=50, bad_events=0)
    before, after = parse_config(generated.config_yaml), parse_config(without_notices(generated.config_yaml))
    assert all(d.notify.email for d in before.departments)   # the generator names a billing address each
    assert all(not d.notify.email and d.notify.webhook is None for d in after.departments)
    assert [(d.id, d.subscriptions) for d in after.departments] == [(d.id, d.subscriptions) for d in before.departments]


def test_the_invoice_table_is_read_from_header_to_grand_total(tmp_path):
    log = tmp_path / "run-month.log"
    log.write_text("storage: x\nnotice ...\ndepartment  name  total\nsales  Sales  1.00\ngrand total 1.00 USD\n"
                   "  finance summary: invoices/2026-10/finance-summary.xlsx\n")
    assert invoice_table(log) == ["department  name  total", "sales  Sales  1.00", "grand total 1.00 USD"]
