"""Benchmark: rendering every department's invoice workbook of a generated month (target <= 100 ms each).

Beside the figure, a baseline measured in the same run: the same cell values written to a plain,
unstyled openpyxl workbook, so a slow, noisy machine shows up in both.
"""
from __future__ import annotations

import io
import time
from datetime import date

from openpyxl import Workbook

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.documents.finance_summary import render_finance_summary
from chargeback.documents.focus import render_focus_csv
from chargeback.documents.invoice_meta import InvoiceMeta
from chargeback.documents.invoice_workbook import render_department_workbook
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.daily import daily_usage_by_department
from chargeback.usage.events import RawEvent, parse_batch
from devhost.generate.month import generate_month

MONTH = "2026-10"


def _plain_workbook(rows: list[list]) -> bytes:
    """The floor: values only, no styles, no chart, one sheet."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def bench_workbooks(departments: int = 200, events_per_department: int = 250) -> dict:
    """Render ``departments`` invoices of one generated month; milliseconds per workbook and the baseline."""
    generated = generate_month(MONTH, departments=departments, events=departments * events_per_department,
                               bad_events=0)
    records, _ = parse_batch([RawEvent(line.encode(), "0", n) for n, line in enumerate(generated.lines)])
    config = parse_config(generated.config_yaml)
    usage = aggregate_month(MONTH, records)
    charges = price_month(MONTH, usage, config)
    meta = InvoiceMeta("Contoso AI Platform", MONTH, date(2026, 11, 1), 1, False, "bench")

    start = time.perf_counter()
    daily = daily_usage_by_department(usage, config)
    daily_s = time.perf_counter() - start

    start, cpu = time.perf_counter(), time.process_time()
    sizes = [len(render_department_workbook(charges, d.department, daily.get(d.department, []), meta))
             for d in charges.departments]
    workbooks_s, workbooks_cpu = time.perf_counter() - start, time.process_time() - cpu

    # The same figures as bare rows: every line's fields, every daily row's fields.
    plain_rows = {d.department: [[str(v) for v in vars(line).values()] for line in d.lines]
                  + [[str(v) if isinstance(v, dict) else v for v in row.to_dict().values()]   # meters: a dict
                     for row in daily.get(d.department, [])]
                  for d in charges.departments}
    start = time.perf_counter()
    for d in charges.departments:
        _plain_workbook(plain_rows[d.department])
    plain_s = time.perf_counter() - start

    start = time.perf_counter()
    render_finance_summary(charges, meta)
    summary_s = time.perf_counter() - start
    start = time.perf_counter()
    render_focus_csv(charges, meta)
    focus_s = time.perf_counter() - start

    count = len(charges.departments)
    return {
        "departments": count,
        "events": len(generated.lines),
        "workbook_ms_per_department": round(workbooks_s * 1000 / count, 2),
        "workbook_cpu_ms_per_department": round(workbooks_cpu * 1000 / count, 2),   # the floor, load aside
        "plain_workbook_ms_per_department": round(plain_s * 1000 / count, 2),
        "workbook_vs_plain_ratio": round(workbooks_s / plain_s, 2) if plain_s else None,
        "workbook_kb_mean": round(sum(sizes) / count / 1024, 1),
        "daily_usage_ms_all_departments": round(daily_s * 1000, 1),
        "finance_summary_ms": round(summary_s * 1000, 1),
        "focus_csv_ms": round(focus_s * 1000, 1),
    }


if __name__ == "__main__":
    import json
    print(json.dumps(bench_workbooks(), indent=2))
