"""The portal's detail of a department's latest invoice: cost by deployment and meter, the change against
the month before with its reasons, and for a revision the earlier total and the difference.

Read from the priced months the runs stored (through ``ChargesLookup``, which the HTTP function implements
over the documents store), compared by ``chargeback.owners.change``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Protocol

from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.money import format_money
from chargeback.owners.change import Change, explain, sentence


class ChargesLookup(Protocol):
    """One department's priced month as a run stored it, or None when it is gone."""

    def charges(self, month: str, run_id: str, department: str) -> MonthCharges | None: ...


class VersionLookup(Protocol):
    def versions(self, month: str, department: str) -> list[InvoiceEntry]: ...


@dataclass(frozen=True)
class Detail:
    entry: InvoiceEntry
    rows: tuple[tuple[str, str, str, Decimal], ...]   # (deployment, kind, meters used, cost), largest first
    against_last_month: Change | None
    revision: Change | None
    previous_month: str = ""                          # the month ``against_last_month`` compares with


def _priced(lookup: ChargesLookup, entry: InvoiceEntry) -> tuple[MonthCharges, DepartmentCharges] | None:
    month = lookup.charges(entry.month, entry.run_id, entry.department)
    dept = month.department(entry.department) if month else None
    return (month, dept) if month and dept else None


def _rows(dept: DepartmentCharges) -> tuple[tuple[str, str, str, Decimal], ...]:
    cost: dict[tuple[str, str], Decimal] = {}
    meters: dict[tuple[str, str], set[str]] = {}
    at_actual = bool(dept.actual_lines) and dept.true_up is None   # mode actual: the actual lines are the charges
    for line in () if at_actual else dept.lines:
        key = (line.deployment, "pay as you go") if isinstance(line, PaygLine) else (line.pool, "PTU pool share")
        cost[key] = cost.get(key, Decimal(0)) + line.amount
        meters.setdefault(key, set()).update(line.meters.used())
    for actual in dept.actual_lines if at_actual else ():   # its part of Azure's bill per meter or pool
        key = (actual.deployment or actual.pool or "unmapped", "actual bill")
        cost[key] = cost.get(key, Decimal(0)) + actual.amount
        meters.setdefault(key, set()).update({actual.meter} if actual.meter else set())
    order = sorted(cost, key=lambda k: (-cost[k], k))
    rows = [(d, kind, ", ".join(sorted(meters[(d, kind)])), cost[(d, kind)]) for d, kind in order]
    if dept.true_up is not None:
        rows.append(("true-up", "to the actual bill", "", dept.true_up.amount))
    if dept.markup:
        rows.append(("markup", "on the subtotal", "", dept.markup))
    return tuple(rows)   # sums to the invoice total


def detail(lookup: ChargesLookup, versions: VersionLookup, entries: tuple[InvoiceEntry, ...]) -> Detail | None:
    """The newest invoice of ``entries`` (newest month first) against the month before and, when it is a
    revision, against the version it replaced."""
    if not entries:
        return None
    latest = entries[0]
    current = _priced(lookup, latest)
    if current is None:
        return None
    before = next((e for e in entries[1:]), None)
    previous = _priced(lookup, before) if before else None
    replaced = [v for v in versions.versions(latest.month, latest.department) if v.version < latest.version]
    earlier = _priced(lookup, replaced[-1]) if latest.revision and replaced else None
    return Detail(latest, _rows(current[1]),
                  explain(previous, current, revision=False) if previous else None,
                  explain(earlier, current, revision=True) if earlier else None,
                  before.month if previous and before else "")


def render_detail(d: Detail, name: str) -> str:
    money = format_money
    e = d.entry
    parts = []
    if d.revision is not None and d.revision.earlier is not None:
        parts.append(f'<p class="change">Revised (version {e.version}): earlier total '
                     f'{escape(money(d.revision.earlier, e.currency))}, now {escape(money(e.total, e.currency))}; '
                     f'{escape(sentence(d.revision, e.currency))}.</p>')
    if d.against_last_month is not None:
        change = d.against_last_month
        said = sentence(change, e.currency) if change.difference else "the same total"
        was = money(change.earlier, e.currency) if change.earlier is not None else ""
        parts.append(f'<p class="change">Against {escape(d.previous_month)} ({escape(was)}): {escape(said)}.</p>')
    rows = "".join(f'<tr><th scope="row">{escape(dep)}</th><td>{escape(kind)}</td><td>{escape(meters or "-")}</td>'
                   f'<td class="num">{escape(money(cost, e.currency))}</td></tr>' for dep, kind, meters, cost in d.rows)
    parts.append(f'<table><caption>{escape(name)}, {escape(e.month)}: cost by deployment and meter</caption>'
                 '<thead><tr><th scope="col">Deployment</th><th scope="col">Billed as</th>'
                 '<th scope="col">Meters used</th><th scope="col" class="num">Cost</th></tr></thead>'
                 f'<tbody>{rows}</tbody><tfoot><tr><th scope="row" colspan="3">Invoice total</th>'
                 f'<td class="num">{escape(money(e.total, e.currency))}</td></tr></tfoot></table>')
    return "".join(parts)
