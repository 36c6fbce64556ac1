"""Who may see which invoice: owners, admins, outsiders; department ids and path tricks."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeback.config.loading import parse_config
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.errors import InvalidDepartment, UnknownInvoice
from chargeback.owners.access import InvoiceAccess, download_name, parse_department
from chargeback.owners.identity import ADMIN_ROLE, Principal

CONFIG = parse_config("""
currency: USD
departments:
  - {id: marketing, name: Marketing, cost_center: CC-1, owners: [Alice@Example.com, ann@example.com],
     subscriptions: [sub-mkt]}
  - {id: sales, name: Sales, cost_center: CC-2, owners: [bob@example.com, alice@example.com], subscriptions: [sub-s]}
  - {id: legal, name: Legal, cost_center: CC-3, owners: [lee@example.com], subscriptions: [sub-l]}
admins: [Finance@Example.com]
""")


def who(email: str, *roles: str) -> Principal:
    return Principal(email, frozenset(roles))


def entry(department: str, version: int = 1) -> InvoiceEntry:
    return InvoiceEntry(month="2026-10", department=department, name=department.title(), total=Decimal("1.00"),
                        currency="USD", version=version, blob=f"2026-10/{department}/x.xlsx",
                        invoice_number=f"CB-2026-10-{department.upper()}-{version}", run_id="r",
                        generated_at=datetime(2026, 11, 1, tzinfo=UTC), revision=False, content_hash="h")


class Index:
    """The one InvoiceIndex call access makes, over a fixed month."""

    def __init__(self, *departments: str):
        self.entries = {d: entry(d) for d in departments}
        self.asked = []

    def latest(self, month, department):
        self.asked.append((month, department))
        return self.entries.get(department) if month == "2026-10" else None


@pytest.mark.parametrize("text", ["marketing", "sales-emea", "r2-d2", "unallocated", "a" * 63])
def test_plain_department_ids_are_accepted(text):
    assert parse_department(text) == text


@pytest.mark.parametrize("text", ["", "..", ".", "../sales", "..%2Fsales", "sales%2F..", "%2e%2e", "sales\\..",
                                  "Marketing", "sales/", " sales", "sales\n", "sales.xlsx", "a" * 64, "sälës", None])
def test_anything_else_is_refused(text):
    with pytest.raises(InvalidDepartment):
        parse_department(text)


def test_owners_see_their_departments_case_insensitively():
    alice = InvoiceAccess.of(who("alice@example.com"), CONFIG)
    assert alice.owned == {"marketing", "sales"} and not alice.admin
    assert alice.visible([entry("legal"), entry("marketing"), entry("sales")]) == [entry("marketing"), entry("sales")]
    lee = InvoiceAccess.of(who("lee@example.com"), CONFIG)
    assert [e.department for e in lee.visible([entry("marketing"), entry("legal")])] == ["legal"]


@pytest.mark.parametrize("principal", [who("finance@example.com"), who("someone@example.com", ADMIN_ROLE)])
def test_admins_by_config_or_app_role_see_everything_including_unallocated(principal):
    access = InvoiceAccess.of(principal, CONFIG)
    assert access.admin
    everything = [entry("legal"), entry("unallocated"), entry("retired-dept")]
    assert access.visible(everything) == everything


def test_without_any_config_only_the_app_role_grants_anything():
    assert InvoiceAccess.of(who("someone@example.com", ADMIN_ROLE), None).admin
    nobody = InvoiceAccess.of(who("finance@example.com"), None)
    assert not nobody.admin and nobody.visible([entry("sales")]) == []


def test_an_owner_gets_the_entry_for_an_owned_department():
    index = Index("marketing", "legal")
    assert InvoiceAccess.of(who("ann@example.com"), CONFIG).invoice(index, "2026-10", "marketing") == entry("marketing")


def test_not_yours_and_does_not_exist_are_the_same_answer():
    index = Index("marketing", "legal")
    bob = InvoiceAccess.of(who("bob@example.com"), CONFIG)
    answers = []
    for month, department in [("2026-10", "legal"), ("2026-10", "no-such-dept"), ("2026-09", "legal"),
                              ("2026-10", "sales")]:   # sales is bob's but has no invoice in this index
        with pytest.raises(UnknownInvoice) as caught:
            bob.invoice(index, month, department)
        answers.append(str(caught.value))
    assert len(set(answers)) == 1
    # Looked up every time, so a hidden invoice does not answer faster than a missing one.
    assert len(index.asked) == 4


def test_download_name_is_the_invoice_number_and_header_safe():
    assert download_name(entry("marketing", 3)) == "CB-2026-10-MARKETING-3.xlsx"
    odd = InvoiceEntry(**{**entry("x").__dict__, "invoice_number": 'CB-"x"\r\n;/..'})
    assert download_name(odd) == "CB-_x_____...xlsx"   # quote, CR, LF, ';' and '/' each become '_'
