"""Who is calling: App Service authentication's X-MS-CLIENT-PRINCIPAL, trusted only when it can be.

The platform sets that header only when authentication is enabled (WEBSITE_AUTH_ENABLED=True); without it
any client could forge it, so it is then ignored and every request is unauthenticated. The local host
may vouch for it in its development mode, bound to loopback (CHARGEBACK_LOCAL_AUTH=loopback).
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass

from chargeback.errors import Unauthenticated
from chargeback.settings import Settings

PRINCIPAL_HEADER = "x-ms-client-principal"
ADMIN_ROLE = "Chargeback.Admin"
_EMAIL_CLAIMS = ("preferred_username", "email", "emails", "upn",
                 "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                 "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")
_ROLE_CLAIMS = ("roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
# Entra writes security-group object ids in the ``groups`` claim (app registration groupMembershipClaims);
# App Service passes each one on as a principal claim of that type. Past 200 groups Entra sends an overage
# (``_claim_names``) instead, which names no group: such a caller is matched by their address alone.
GROUP_CLAIMS = ("groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups")


@dataclass(frozen=True)
class Principal:
    email: str                # lower case
    roles: frozenset[str]
    groups: frozenset[str] = frozenset()   # Entra group object ids, lower case


def header_trusted(settings: Settings) -> bool:
    return settings.platform_auth or settings.local_auth == "loopback"


def principal_from_headers(headers: Mapping[str, str], settings: Settings) -> Principal:
    """The caller, or Unauthenticated (no header, an untrusted header, or one without an email)."""
    if not header_trusted(settings):
        raise Unauthenticated("authentication is not enabled for this app: requests cannot be identified")
    raw = next((v for k, v in headers.items() if k.lower() == PRINCIPAL_HEADER), None)
    if not raw:
        raise Unauthenticated("sign in first: no client principal on the request")
    try:
        doc = json.loads(base64.b64decode(raw, validate=False))
        claims = doc.get("claims") or []
        role_type = doc.get("role_typ") or "roles"
    except (ValueError, binascii.Error, AttributeError, RecursionError):
        raise Unauthenticated("the client principal header is malformed") from None
    if not isinstance(claims, list) or not isinstance(role_type, str):
        raise Unauthenticated("the client principal header is malformed: claims must be a list")
    values = [(str(c.get("typ", "")), str(c.get("val", ""))) for c in claims if isinstance(c, dict)]
    email = next((v for t in _EMAIL_CLAIMS for typ, v in values if typ == t and "@" in v), "")
    if not email:
        raise Unauthenticated("the client principal has no email claim")
    roles = frozenset(v for typ, v in values if typ == role_type or typ in _ROLE_CLAIMS)
    groups = frozenset(v.strip().lower() for typ, v in values if typ in GROUP_CLAIMS)
    return Principal(email.strip().lower(), roles, groups)


def encode_principal(email: str, roles: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> str:
    """A header value as App Service would send it (local host, tests)."""
    claims = [{"typ": "preferred_username", "val": email}] + [{"typ": "roles", "val": r} for r in roles] \
        + [{"typ": "groups", "val": g} for g in groups]
    doc = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles"}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def is_admin(principal: Principal, admins: tuple[str, ...]) -> bool:
    return ADMIN_ROLE in principal.roles or principal.email in {a.lower() for a in admins}
