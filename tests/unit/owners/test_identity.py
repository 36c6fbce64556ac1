import base64
import json

import pytest

from chargeback.errors import Unauthenticated
from chargeback.owners.identity import ADMIN_ROLE, encode_principal, is_admin, principal_from_headers
from chargeback.settings import Settings

PLATFORM = Settings(platform_auth=True)


def header(doc) -> dict:
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(doc).encode()).decode()}


def test_platform_principal_with_email_and_roles():
    doc = {"auth_typ": "aad", "name_typ": "name", "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
           "claims": [{"typ": "name", "val": "Alice"}, {"typ": "preferred_username", "val": "Alice@Contoso.com"},
                      {"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "val": ADMIN_ROLE}]}
    principal = principal_from_headers(header(doc), PLATFORM)
    assert principal.email == "alice@contoso.com" and ADMIN_ROLE in principal.roles


def test_header_is_ignored_when_authentication_is_off():
    with pytest.raises(Unauthenticated):
        principal_from_headers({"X-MS-CLIENT-PRINCIPAL": encode_principal("admin@contoso.com", (ADMIN_ROLE,))},
                               Settings())


def test_local_development_mode_trusts_it():
    p = principal_from_headers({"x-ms-client-principal": encode_principal("bob@contoso.com")},
                               Settings(local_auth="loopback"))
    assert p.email == "bob@contoso.com" and not p.roles


@pytest.mark.parametrize("headers", [{}, {"X-MS-CLIENT-PRINCIPAL": "%%%not-base64"},
                                     {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(b"[1,2]").decode()},
                                     header({"claims": [{"typ": "name", "val": "No Email"}]})])
def test_missing_or_malformed_principal_is_unauthenticated(headers):
    with pytest.raises(Unauthenticated):
        principal_from_headers(headers, PLATFORM)


def test_admin_by_config_or_by_role():
    alice = principal_from_headers({"X-MS-CLIENT-PRINCIPAL": encode_principal("alice@contoso.com")}, PLATFORM)
    assert is_admin(alice, ("ALICE@contoso.com",)) and not is_admin(alice, ("bob@contoso.com",))
    role = principal_from_headers({"X-MS-CLIENT-PRINCIPAL": encode_principal("x@contoso.com", (ADMIN_ROLE,))},
                                  PLATFORM)
    assert is_admin(role, ())


@pytest.mark.parametrize("claims", [5, 2.5, True, {"typ": "preferred_username", "val": "a@contoso.com"}])
def test_claims_that_are_not_a_list_are_unauthenticated_not_a_crash(claims):
    """Issue 11: a principal whose claims is a number answered 500."""
    with pytest.raises(Unauthenticated):
        principal_from_headers(header({"claims": claims}), PLATFORM)


def test_a_deeply_nested_principal_is_unauthenticated():
    deep = base64.b64encode(b'{"claims": ' + b"[" * 100_000 + b"]" * 100_000 + b"}").decode()
    with pytest.raises(Unauthenticated):
        principal_from_headers({"X-MS-CLIENT-PRINCIPAL": deep}, PLATFORM)
