"""The monthly invoicing steps, each idempotent, each with small inputs and outputs.

The orchestrator calls them through activities: aggregate one partition, price the month, render
one department's invoice, render the month's documents, record the run. Large intermediate
results (partial aggregates, the priced month) live in blobs under ``runs/{month}/{run_id}/``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from chargeback.billing.actual_bill import apply_actual_bill
from chargeback.billing.charges import DepartmentCharges, MonthCharges
from chargeback.billing.pricing import price_month
from chargeback.documents.finance_summary import render_finance_summary
from chargeback.documents.focus import render_focus_csv
from chargeback.documents.focus_metadata import METADATA_NAME, render_focus_metadata
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.documents.invoice_meta import InvoiceMeta
from chargeback.documents.invoice_workbook import render_department_workbook
from chargeback.errors import InvalidConfig
from chargeback.months import month_bounds
from chargeback.owners.change import explain
from chargeback.storage.documents import CSV, EXPORTS, INVOICES, JSON, RUNS, XLSX
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.attribution_lines import LineAttribution
from chargeback.usage.attribution_rollup import AttributionRow
from chargeback.usage.daily import DailyUsageRow, daily_usage_by_department
from chargeback.usage.reading import aggregate_partition
from chargeback.workflow.gateway_ingest import GatewayHalvesSource, run_gateway_warnings
from chargeback.workflow.ports import ActualsSource, ConfigSource, Documents, InvoiceLedger, UsageSource
from chargeback.workflow.run_documents import read_department_documents, write_department_documents


@dataclass
class InvoicingContext:
    """The stores the steps work with (built once per process by the wiring)."""

    usage: UsageSource
    config: ConfigSource
    documents: Documents
    index: InvoiceLedger
    issuer: str = "Azure OpenAI platform team"
    billing_account_id: str = "chargeback"   # FOCUS BillingAccountId (CHARGEBACK_BILLING_ACCOUNT_ID)
    actuals: ActualsSource | None = None   # the month's actual bill, for actuals modes other than list
    gateway_halves: GatewayHalvesSource | None = None   # gateway-logs metering: lone halves become warnings
    # (month, run_id, department) -> its run document, as a batch read them (render_departments_step)
    known_documents: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    # (month, department) -> its latest invoice (None: none yet), as a batch read them in one query
    known_latest: dict[tuple[str, str], InvoiceEntry | None] = field(default_factory=dict)


def run_prefix(month: str, run_id: str) -> str:
    return f"{month}/{run_id}"


def list_partitions(ctx: InvoicingContext, month: str) -> list[str]:
    month_bounds(month)
    return ctx.usage.partitions(month)


def aggregate_partition_step(ctx: InvoicingContext, month: str, run_id: str, partition: str) -> dict[str, Any]:
    """Aggregate one partition into a blob; returns its name and how many records it held."""
    usage = aggregate_partition(ctx.usage, month, partition)
    name = f"{run_prefix(month, run_id)}/parts/{partition}.json"
    ctx.documents.put_json(RUNS, name, usage.to_dict())
    records = sum(t.requests for _, t in usage.groups())
    return {"partition": partition, "blob": name, "records": records, "outside_month": usage.outside_month}


def price_step(ctx: InvoicingContext, month: str, run_id: str, part_blobs: list[str]) -> dict[str, Any]:
    """Merge the partial aggregates, price them with the config in force, keep both for the renderers."""
    usage = MonthUsage(month)
    for name in part_blobs:
        usage.merge(MonthUsage.from_dict(ctx.documents.get_json(RUNS, name)))
    return price_usage_step(ctx, month, run_id, usage)


def price_usage_step(ctx: InvoicingContext, month: str, run_id: str, usage: MonthUsage) -> dict[str, Any]:
    """Price the month's aggregated usage (merged parts, or the month-to-date rollups) and keep both."""
    config_fingerprint = ctx.config.current_fingerprint()
    if config_fingerprint is None:
        raise InvalidConfig(["no configuration imported: run `chargeback config import FILE` first"])
    config = ctx.config.get(config_fingerprint)
    if config is None:
        raise InvalidConfig([f"configuration {config_fingerprint} is in force but was not found"])
    charges = price_month(month, usage, config)
    if config.actuals is not None:   # DESIGN.md "Actual bill": the mode, and drift warnings from the actuals
        charges = apply_actual_bill(charges, usage, ctx.actuals.get(month) if ctx.actuals else None, config)
    if ctx.gateway_halves is not None:   # DESIGN.md "Metering streams without buffering": never dropped
        charges = replace(charges, warnings=(*charges.warnings, *run_gateway_warnings(ctx.gateway_halves, month)))
    prefix = run_prefix(month, run_id)
    ctx.documents.put_json(RUNS, f"{prefix}/usage.json", usage.to_dict())
    ctx.documents.put_json(RUNS, f"{prefix}/charges.json", charges.to_dict())
    # Each renderer and notifier reads only its own department's charges and daily usage, not the month's.
    daily = daily_usage_by_department(usage, config)
    attribution = usage.attribution.top_by_department(config.department_for)
    gateway = usage.attribution.lines.gateway_calls(config.department_for)   # their invoices say so (issue 15)
    docs: dict[str, dict[str, Any]] = {}
    for dept in charges.departments:
        doc: dict[str, Any] = {"charges": department_charges(charges, dept.department).to_dict(),
                               "daily": [row.to_dict() for row in daily.get(dept.department, [])]}
        if attribution.get(dept.department):   # only with users or tags: other documents stay as they were
            doc["attribution"] = [row.to_dict() for row in attribution[dept.department]]
        if gateway.get(dept.department):
            doc["gateway_logs"] = gateway[dept.department]
        docs[dept.department] = doc
    write_department_documents(ctx.documents, prefix, docs)   # one blob, read a batch at a time
    return {"month": month, "run_id": run_id, "config_fingerprint": config_fingerprint,
            "currency": charges.currency, "grand_total": str(charges.grand_total),
            "departments": [d.department for d in charges.departments],
            "warnings": list(charges.warnings), "unpriced": len(charges.unpriced),
            "records": sum(t.requests for _, t in usage.groups())}


def department_charges(charges: MonthCharges, department: str) -> MonthCharges:
    """The month's charges cut down to one department (pools stay: its lines explain its share of them)."""
    return replace(charges, departments=tuple(d for d in charges.departments if d.department == department),
                   unpriced=tuple(u for u in charges.unpriced if u.department == department))


def load_charges(ctx: InvoicingContext, month: str, run_id: str) -> MonthCharges:
    """The whole priced month of a run."""
    return MonthCharges.from_dict(ctx.documents.get_json(RUNS, f"{run_prefix(month, run_id)}/charges.json"))


def department_document(documents: Documents, month: str, run_id: str, department: str) -> dict[str, Any]:
    """One department's document of a run, as ``price_usage_step`` stored it (read it once per step)."""
    doc: dict[str, Any] = read_department_documents(documents, run_prefix(month, run_id), [department])[department]
    return doc


def department_from(doc: dict[str, Any]) -> tuple[MonthCharges, list[DailyUsageRow]]:
    """A department document's charges and daily usage."""
    return MonthCharges.from_dict(doc["charges"]), [DailyUsageRow.from_dict(row) for row in doc["daily"]]


def attribution_from(doc: dict[str, Any]) -> list[AttributionRow]:
    """A department document's top end users and tags ([] when its calls named none)."""
    return [AttributionRow.from_dict(row) for row in doc.get("attribution", [])]


def gateway_calls_from(doc: dict[str, Any]) -> dict[str, int]:
    """A department document's calls metered from the gateway logs, per deployment ({} when none)."""
    return {str(k): int(v) for k, v in doc.get("gateway_logs", {}).items()}


def load_department(documents: Documents, month: str, run_id: str,
                    department: str) -> tuple[MonthCharges, list[DailyUsageRow]]:
    """One department's charges and daily usage of a run."""
    return department_from(department_document(documents, month, run_id, department))


def load_attribution(documents: Documents, month: str, run_id: str, department: str) -> list[AttributionRow]:
    """One department's top end users and tags of a run ([] when its calls named none)."""
    return attribution_from(department_document(documents, month, run_id, department))


def content_hash(charges: MonthCharges, department: str, daily: list[DailyUsageRow],
                 attribution: list[AttributionRow] | None = None, gateway_calls: dict[str, int] | None = None) -> str:
    """What the invoice says, independent of when or by which run it was produced."""
    dept = charges.department(department)
    if dept is None:
        raise LookupError(f"{department} has no charges")
    doc = {"currency": charges.currency, "department": MonthCharges.to_dict(_only(charges, dept))["departments"],
           "daily": [row.to_dict() for row in daily]}
    if attribution:   # left out when empty: an invoice without users or tags hashes as before
        doc["attribution"] = [row.to_dict() for row in attribution]
    if gateway_calls:   # likewise: the note on the first page
        doc["gateway_logs"] = gateway_calls
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _only(charges: MonthCharges, dept: DepartmentCharges) -> MonthCharges:
    return replace(charges, departments=(dept,), pools=(), unpriced=(), warnings=())


def render_departments_step(ctx: InvoicingContext, month: str, run_id: str, departments: list[str],
                            issue_date: str) -> list[dict[str, Any]]:
    """A batch of departments (one activity's), one invoice each: their latest invoices read in one query of
    the index instead of one read per department (issue 17)."""
    found = ctx.index.latest_many(month, departments)
    docs = read_department_documents(ctx.documents, run_prefix(month, run_id), departments)
    batch = replace(ctx, known_latest={(month, d): found.get(d) for d in departments},
                    known_documents={(month, run_id, d): doc for d, doc in docs.items()})
    return [render_department_step(batch, month, run_id, department, issue_date) for department in departments]


def render_department_step(ctx: InvoicingContext, month: str, run_id: str, department: str,
                           issue_date: str) -> dict[str, Any]:
    """Render and store one department's workbook, unless the latest one already says the same."""
    doc = ctx.known_documents.get((month, run_id, department)) or department_document(ctx.documents, month, run_id,
                                                                                      department)
    charges, daily = department_from(doc)
    dept = charges.department(department)
    if dept is None:
        raise LookupError(f"{department} has no charges in run {run_id}")
    attribution, gateway_calls = attribution_from(doc), gateway_calls_from(doc)
    digest = content_hash(charges, department, daily, attribution, gateway_calls)
    known = (month, department) in ctx.known_latest   # read with its batch (nothing records while a run renders)
    latest = ctx.known_latest[(month, department)] if known else ctx.index.latest(month, department)
    if latest is not None and latest.content_hash == digest:
        return {**latest.as_dict(), "changed": False}
    version = latest.version + 1 if latest else 1
    meta = InvoiceMeta(issuer=ctx.issuer, month=month, issue_date=date.fromisoformat(issue_date), version=version,
                       revision=latest is not None, run_id=run_id, previous_total=latest.total if latest else None,
                       revision_reason=_why_revised(ctx.documents, charges, latest, department))
    number = meta.invoice_number(department)
    blob = f"{month}/{department}/{number}.xlsx"
    data = render_department_workbook(charges, department, daily, meta, attribution, gateway_calls)
    ctx.documents.put(INVOICES, blob, data, XLSX, {"department": department, "version": str(version),
                                                    "total": str(dept.total), "currency": charges.currency,
                                                    "invoice_number": number, "run_id": run_id})
    entry = InvoiceEntry(month=month, department=department, name=dept.name, total=dept.total,
                         currency=charges.currency, version=version, blob=blob, invoice_number=number,
                         run_id=run_id, generated_at=datetime.fromisoformat(issue_date + "T00:00:00+00:00"),
                         revision=latest is not None, content_hash=digest)
    return {**entry.as_dict(), "changed": True}


def _why_revised(documents: Documents, charges: MonthCharges, latest: InvoiceEntry | None, department: str) -> str:
    """What changed since the version a revision replaces, from both runs' priced months (owners.change)."""
    current = charges.department(department)
    if latest is None or current is None:
        return ""
    try:
        earlier_charges, _ = load_department(documents, charges.month, latest.run_id, department)
    except FileNotFoundError:
        return ""
    earlier = earlier_charges.department(department)
    if earlier is None:
        return ""
    return ", ".join(explain((earlier_charges, earlier), (charges, current), revision=True).reasons)


def render_month_step(ctx: InvoicingContext, month: str, run_id: str, issue_date: str,
                      invoice_numbers: dict[str, str] | None = None) -> dict[str, str]:
    """The finance summary workbook and the FOCUS export of the month (latest run wins); ``invoice_numbers``:
    each department's invoice as this run issued it (a revision's version), for the documents to name."""
    charges = load_charges(ctx, month, run_id)
    meta = InvoiceMeta(issuer=ctx.issuer, month=month, issue_date=date.fromisoformat(issue_date), version=1,
                       revision=False, run_id=run_id, billing_account_id=ctx.billing_account_id,
                       numbers=tuple(sorted((invoice_numbers or {}).items())))
    common = {"month": month, "run_id": run_id, "total": str(charges.grand_total), "currency": charges.currency}
    summary = ctx.documents.put(INVOICES, f"{month}/finance-summary.xlsx",
                                render_finance_summary(charges, meta), XLSX, common)
    # The run's usage per line by end user and tags (issue 15): the FOCUS rows of a line split by them.
    usage = ctx.documents.get_json(RUNS, f"{run_prefix(month, run_id)}/usage.json")
    lines = LineAttribution.from_rows(usage.get("attribution_lines", []))
    data = render_focus_csv(charges, meta, lines)
    focus = ctx.documents.put(EXPORTS, f"{month}/focus.csv", data, CSV, common)
    # FOCUS 1.2 metadata (schema, ProviderTagPrefixes) beside it, same folder (documents/focus_metadata.py).
    created = datetime.combine(meta.issue_date, datetime.min.time(), UTC)
    ctx.documents.put(EXPORTS, f"{month}/{METADATA_NAME}",
                      render_focus_metadata(ctx.issuer, created, f"{EXPORTS}/{focus}", len(data)), JSON, common)
    return {"finance_summary": f"{INVOICES}/{summary}", "focus_export": f"{EXPORTS}/{focus}"}


def record_run_step(ctx: InvoicingContext, month: str, run_id: str, invoices: list[dict[str, Any]],
                    priced: dict[str, Any], documents: dict[str, str], finished_at: str) -> dict[str, Any]:
    """Point the index at each department's latest invoice and record the run; idempotent."""
    entries = [InvoiceEntry.from_dict({**i, "month": month}) for i in invoices if i["changed"]]
    ctx.index.record(entries)
    summary = {"config_fingerprint": priced["config_fingerprint"], "grand_total": priced["grand_total"],
               "currency": priced["currency"], "warnings": priced["warnings"], "finished_at": finished_at,
               "revised": [e.department for e in entries if e.revision],
               "new": [e.department for e in entries if not e.revision], **documents}
    ctx.index.record_run(month, run_id, summary)
    return summary
