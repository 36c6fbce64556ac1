"""Against Azurite: the invoice index read for a batch of departments in one query, and recorded in
entity-group transactions (issue 17), answering exactly what the point reads and single upserts did."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.storage.invoice_index import INDEX_TABLE, InvoiceIndex


def entry(department: str, version: int = 1, month: str = "2026-10", total: str = "10.00") -> InvoiceEntry:
    return InvoiceEntry(month=month, department=department, name=department.title(), total=Decimal(total),
                        currency="USD", version=version, blob=f"{month}/{department}/CB-{version}.xlsx",
                        invoice_number=f"CB-{month}-{department.upper()}-{version}", run_id=f"run-{version}",
                        generated_at=datetime(2026, 11, 1, tzinfo=UTC), revision=version > 1,
                        content_hash=f"sha256:{department}{version}")


def test_a_batch_reads_its_departments_latest_in_one_query_and_nothing_else(app_services):
    index = InvoiceIndex(app_services.account)
    departments = [f"d{n:03d}" for n in range(230)]   # more than one transaction's 100 operations
    index.record([entry(d) for d in departments] + [entry("d005", month="2026-11")])
    index.record([entry("d007", version=2, total="12.50")])
    batch = ["d004", "d005", "d007", "d009", "zz-never-invoiced"]
    found = index.latest_many("2026-10", batch)
    assert sorted(found) == ["d004", "d005", "d007", "d009"]   # d006, d008 lie in the range, not in the batch
    assert found == {d: index.latest("2026-10", d) for d in found}
    assert found["d007"].version == 2 and found["d007"].total == Decimal("12.50")
    assert index.latest_many("2026-10", []) == {}
    assert index.latest_many("2026-12", batch) == {}


def test_recorded_in_transactions_every_row_is_the_latest_and_every_version_is_kept(app_services):
    index = InvoiceIndex(app_services.account)
    departments = [f"dep-{n:03d}" for n in range(205)]
    index.record([entry(d) for d in departments])
    index.record([entry(d, version=2, total="11.00") for d in departments[::2]])
    rows = list(app_services.account.table(INDEX_TABLE).query_entities("PartitionKey eq '2026-10'"))
    assert len(rows) == 205
    month = {e.department: e for e in index.month("2026-10")}
    assert {d for d, e in month.items() if e.version == 2} == set(departments[::2])
    assert month["dep-001"] == entry("dep-001")
    assert month["dep-204"] == entry("dep-204", version=2, total="11.00")
    assert [v.version for v in index.versions("2026-10", "dep-204")] == [1, 2]
    assert [v.version for v in index.versions("2026-10", "dep-203")] == [1]
