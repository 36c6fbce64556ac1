"""The admin's operations panels in the portal: the month's dead letters and the unallocated usage.

Pure rendering from what the portal already reads (the dead-letter listing, the invoice index): tables
only, no script, so the page's strict Content-Security-Policy stays as it is. Everything is escaped.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from chargeback.config.model import UNALLOCATED
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.money import format_money

NEWEST_SHOWN = 5   # reasons listed; the count covers all of the month's dead letters


@dataclass(frozen=True)
class Letter:
    """What the panel needs of a dead letter (chargeback.storage.deadletter_store.StoredDeadLetter)."""

    id: str
    reason: str
    recorded_at: datetime | None


def dead_letters_panel(letters: Iterable[Letter], month: str) -> str:
    """How many letters were recorded in ``month`` (YYYY-MM, UTC) and the newest few reasons."""
    ours = sorted((x for x in letters if x.recorded_at is not None and x.recorded_at.strftime("%Y-%m") == month),
                  key=lambda x: (x.recorded_at, x.id), reverse=True)
    head = f'<section aria-labelledby="dl"><h2 id="dl">Dead letters in {escape(month)}</h2>'
    if not ours:
        return head + f'<p class="note">No dead letters recorded in {escape(month)}.</p></section>'
    rows = "".join(f'<tr><td class="nowrap">{_when(x.recorded_at)}</td><td class="nowrap">'
                   f'<abbr title="{escape(x.id)}">{escape(x.id[:12])}</abbr></td><td>{escape(x.reason)}</td></tr>'
                   for x in ours[:NEWEST_SHOWN])
    which = f"; the newest {NEWEST_SHOWN}" if len(ours) > NEWEST_SHOWN else ""
    return (head + f'<p><strong>{len(ours)}</strong> dead letter{"s" if len(ours) != 1 else ""} recorded{which}:'
            f'</p><table><caption>Newest dead letters of {escape(month)} (UTC)</caption>'
            '<thead><tr><th scope="col">Recorded</th><th scope="col">Id</th><th scope="col">Reason</th>'
            f'</tr></thead><tbody>{rows}</tbody></table>'
            '<p class="note">Replay or inspect them with <code>chargeback deadletters</code>.</p></section>')


def _when(at: datetime | None) -> str:
    return escape(at.strftime("%Y-%m-%d %H:%M")) if at else ""


def unallocated_panel(entries: Sequence[InvoiceEntry]) -> str:
    """The ``unallocated`` department's total in the newest month it was priced (``entries``: any invoices)."""
    ours = sorted((e for e in entries if e.department == UNALLOCATED), key=lambda e: (e.month, e.version))
    head = '<section aria-labelledby="un"><h2 id="un">Unallocated usage</h2>'
    if not ours:
        return head + '<p class="note">Nothing unallocated in the months shown.</p></section>'
    e = ours[-1]
    return (head + '<table><caption>Usage no department claims, newest priced month</caption><thead><tr>'
            '<th scope="col">Month</th><th scope="col">Invoice</th><th scope="col" class="num">Total</th>'
            f'</tr></thead><tbody><tr><th scope="row">{escape(e.month)}</th><td>{escape(e.invoice_number)}</td>'
            f'<td class="num">{escape(format_money(e.total, e.currency))}</td></tr></tbody></table>'
            '<p class="note">Map its subscriptions to a department in the config to charge it.</p></section>')


def exports_panel(month: str | None) -> str:
    """Links to ``month``'s finance summary and FOCUS export (reports: ``/api/exports/{month}/{name}``)."""
    head = '<section aria-labelledby="ex"><h2 id="ex">Finance exports</h2>'
    if month is None:
        return head + '<p class="note">No month has been invoiced yet.</p></section>'
    m = escape(month)
    return (head + f'<ul><li><a href="/api/exports/{m}/finance-summary.xlsx" download>Finance summary for {m} '
            f'(xlsx)</a></li><li><a href="/api/exports/{m}/focus.csv" download>FOCUS export for {m} (csv)</a>'
            f'</li><li><a href="/api/exports/{m}/focus-metadata.json" download>FOCUS metadata for {m} (json)</a>'
            '</li></ul></section>')
