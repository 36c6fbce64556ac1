"""The admin's run panel in the portal: each month's invoicing run and a Rerun button.

The button is a plain HTML form POST (no script, so the strict Content-Security-Policy stays; it allows
``form-action 'self'`` and nothing else) to ``/api/portal/months/{month}/rerun`` with a token bound to the
admin and the month (chargeback/owners/csrf.py). Everything is escaped.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

REASON_SHOWN = 160   # characters of a failure's reason in the cell; the whole reason is in its title


@dataclass(frozen=True)
class MonthRun:
    """A month's run as its Durable instance reports it (orchestrations/starters.py: month_run)."""

    month: str
    status: str                   # "not started" or Durable's runtime status: Pending, Running, Completed, ...
    updated: datetime | None = None
    reason: str = ""              # a failed run's output
    stage: str = ""               # a running run's custom status stage
    requested_by: str = ""

    @property
    def active(self) -> bool:
        return self.status in ("Pending", "Running")


def rerun_action(month: str) -> str:
    return f"/api/portal/months/{month}/rerun"


def describe(run: MonthRun) -> str:
    """The status cell's text: not started, queued, running, completed at ..., failed at ...: why."""
    at = f" at {run.updated:%Y-%m-%d %H:%M} UTC" if run.updated else ""
    text = {"not started": "not started", "Pending": f"queued{at}",
            "Running": f"running{': ' + run.stage if run.stage else ''}",
            "Completed": f"completed{at}", "Failed": f"failed{at}"}.get(run.status, f"{run.status.lower()}{at}")
    if run.status == "Failed":
        reason = run.reason or "no reason given"
        text += ": " + (reason if len(reason) <= REASON_SHOWN else reason[:REASON_SHOWN - 1] + "…")
    if run.requested_by and run.status != "not started":
        text += f" (started by {run.requested_by})"
    return text


def _form(run: MonthRun, token: str, until: str) -> str:
    m = escape(run.month)
    disabled = ' disabled aria-disabled="true"' if run.active else ""
    return (f'<form method="post" action="{escape(rerun_action(run.month))}">'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            f'<input type="hidden" name="until" value="{escape(until)}">'
            f'<button type="submit"{disabled} aria-label="Rerun {m}">Rerun</button></form>')


def runs_panel(runs: Sequence[MonthRun], token: Callable[[str], str] | None, until: str, off: str = "") -> str:
    """``runs`` newest first; ``token(month)`` signs each form, None when the form is off (``off``: why)."""
    rows = []
    for run in runs:
        status = escape(describe(run))
        title = f' title="{escape(run.reason)}"' if run.reason else ""
        css = ' class="failed"' if run.status == "Failed" else ""
        action = _form(run, token(run.month), until) if token else "-"
        rows.append(f'<tr><th scope="row">{escape(run.month)}</th><td{css}{title}>{status}</td>'
                    f'<td>{action}</td></tr>')
    note = ("Rerun prices the month again from its usage and revises any invoice that changed; a month that "
            "is running cannot be started twice." if token else
            f"Reruns from the portal are off: {escape(off)}. Set it in the app settings (see README.md).")
    return ('<section aria-labelledby="runs"><h2 id="runs">Invoicing runs</h2><table>'
            '<caption>Each month&#39;s invoicing run, newest first</caption><thead><tr><th scope="col">Month</th>'
            '<th scope="col">Status</th><th scope="col">Rerun</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table><p class="note">{note}</p></section>')
