"""Who may see which invoices: owners and viewers their departments', admins everyone's, nobody learns what
exists. A department's readers are its owners, its viewers and its notice recipients (``notify.email``, so a
notice never links to something its reader cannot open); owners and viewers may be Entra group object ids,
matched against the caller's ``groups`` claims.

Owners and admins come from the configuration in force now (not the one a month was priced with), so
taking someone off a department's owners takes their access away from its past invoices too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from chargeback.config.model import ChargebackConfig
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.errors import InvalidDepartment, UnknownInvoice
from chargeback.owners.identity import Principal, is_admin

_DEPARTMENT_RE = re.compile(r"[a-z0-9-]{1,63}")
# One message for "no such invoice" and "not yours": an outsider cannot probe for what exists.
NOT_FOUND = "no such invoice, or not one you may see"


class InvoiceLookup(Protocol):
    """The part of the invoice index the owners' views read (``chargeback.storage.invoice_index``)."""

    def latest(self, month: str, department: str) -> InvoiceEntry | None: ...

    def month(self, month: str) -> list[InvoiceEntry]: ...


def parse_department(text: str) -> str:
    """The department id if it is ``[a-z0-9-]+``; anything else (``..``, slashes, escapes) is refused."""
    if not isinstance(text, str) or not _DEPARTMENT_RE.fullmatch(text):
        raise InvalidDepartment(f"department must be lower-case letters, digits and '-', got {str(text)[:40]!r}")
    return text


@dataclass(frozen=True)
class InvoiceAccess:
    """What one caller may see under one configuration."""

    principal: Principal
    admin: bool
    owned: frozenset[str]     # department ids the caller owns, views or hears about (Department.readers)

    @classmethod
    def of(cls, principal: Principal, config: ChargebackConfig | None) -> InvoiceAccess:
        if config is None:  # nothing imported yet: only the app role can make someone an admin
            return cls(principal, is_admin(principal, ()), frozenset())
        names = {principal.email} | principal.groups   # an address, or a group object id the caller is in
        owned = frozenset(d.id for d in config.departments if names & d.readers())
        return cls(principal, is_admin(principal, config.admins), owned)

    def may_see(self, department: str) -> bool:
        return self.admin or department in self.owned

    def visible(self, entries: list[InvoiceEntry]) -> list[InvoiceEntry]:
        return [e for e in entries if self.may_see(e.department)]

    def invoice(self, index: InvoiceLookup, month: str, department: str) -> InvoiceEntry:
        """The latest invoice the caller may download, else UnknownInvoice (the same for missing and hidden)."""
        entry = index.latest(month, department)   # looked up either way: both answers take the same path
        if entry is None or not self.may_see(department):
            raise UnknownInvoice(NOT_FOUND)
        return entry


def download_name(entry: InvoiceEntry) -> str:
    """A filename safe in a Content-Disposition header: ``CB-2026-10-MARKETING-1.xlsx``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", entry.invoice_number)[:120] + ".xlsx"
