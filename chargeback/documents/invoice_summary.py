"""The invoice's first-page summary (issue 13): what the department paid per deployment and per model,
before the line tables. Each figure is a sum of the invoice's own rounded lines, so both summaries add up
to the subtotal of the lines (the totals below the tables add the platform fee and any true-up)."""
from __future__ import annotations

from decimal import Decimal

from chargeback.billing.charges import DepartmentCharges, PaygLine
from chargeback.documents.workbook_style import SheetWriter


def amounts(department: DepartmentCharges) -> tuple[list[tuple[str, Decimal]], list[tuple[str, Decimal]]]:
    """``(by deployment, by model)``, largest first; a line that served several models counts under all of
    them joined ("gpt-4o, gpt-4o-mini"), never split by a guess."""
    by_deployment: dict[str, Decimal] = {}
    by_model: dict[str, Decimal] = {}
    for line in department.lines:
        deployment = line.deployment if isinstance(line, PaygLine) else f"{line.pool} (PTU pool)"
        model = ", ".join(sorted(line.models)) or "(model not reported)"
        by_deployment[deployment] = by_deployment.get(deployment, Decimal(0)) + line.amount
        by_model[model] = by_model.get(model, Decimal(0)) + line.amount
    def order(d: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
        return sorted(d.items(), key=lambda item: (-item[1], item[0]))
    return order(by_deployment), order(by_model)


def write_summary(out: SheetWriter, department: DepartmentCharges, currency: str, row: int) -> int:
    """Two tables side by side (deployment in columns A-B, model in E-F) below the heading; returns the
    last row written. Nothing when the department has no list-price lines (mode actual)."""
    by_deployment, by_model = amounts(department)
    if not by_deployment:
        return row
    row += 2
    out.text(row, 1, "Summary", "cb-section", fit=False)
    row += 1
    out.header(row, [("By deployment", "left"), (f"Amount ({currency})", "right")])
    for column, title in ((5, "By model"), (6, f"Amount ({currency})")):
        out.text(row, column, title, "cb-header-left" if column == 5 else "cb-header-right", fit=False)
    for offset in range(max(len(by_deployment), len(by_model))):
        for column, table in ((1, by_deployment), (5, by_model)):
            if offset < len(table):
                name, amount = table[offset]
                out.text(row + 1 + offset, column, name)
                out.number(row + 1 + offset, column + 1, amount, "cb-money")
    return row + max(len(by_deployment), len(by_model))


def gateway_logs_note(calls: dict[str, int]) -> str:
    """What the invoice says of calls metered from API Management's gateway logs (DESIGN.md "Metering streams
    without buffering"): those logs report no cached tokens, so the documented default prices them."""
    total = sum(calls.values())
    where = ", ".join(f"{deployment} {n}" for deployment, n in sorted(calls.items()))
    return (f"{total} streamed call(s) ({where}) were metered from API Management gateway logs, which report no "
            "cached tokens: their input is priced at the deployment's input rate (cached input not discounted).")


def write_gateway_logs_note(out: SheetWriter, calls: dict[str, int] | None, row: int) -> int:
    """The note below the heading when some of the department's calls were metered from the gateway logs."""
    if not calls or not sum(calls.values()):
        return row
    row += 2
    out.text(row, 1, gateway_logs_note(calls), "cb-note", fit=False)
    return row
