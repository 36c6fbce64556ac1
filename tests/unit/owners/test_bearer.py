"""Entra bearer tokens checked by the product: signature from the tenant's keys, issuer, audience, lifetime."""
from __future__ import annotations

import time

import jwt
import pytest

from chargeback.errors import Unauthenticated
from chargeback.owners.bearer import BearerValidator, principal_of, validator_for
from chargeback.owners.identity import ADMIN_ROLE, encode_principal, is_admin
from chargeback.settings import Settings

from .entra_keys import CLIENT_ID, TENANT, KeySet, new_key, token


@pytest.fixture
def keyset():
    keys = KeySet()
    yield keys
    keys.close()


@pytest.fixture
def validator(keyset):
    return BearerValidator(TENANT, (CLIENT_ID, f"api://{CLIENT_ID}"), keyset.url, refresh_cooldown=0)


def test_a_token_of_the_tenant_for_the_app_names_the_user_and_roles(keyset, validator):
    principal = validator.principal(token(keyset.keys["key-1"], roles=[ADMIN_ROLE]))
    assert principal.email == "alice@example.com" and principal.roles == {ADMIN_ROLE}
    assert is_admin(principal, ())


def test_v1_tokens_of_the_tenant_are_accepted_too(keyset, validator):
    v1 = token(keyset.keys["key-1"], version="1.0", aud=f"api://{CLIENT_ID}", preferred_username=None,
               upn="bob@example.com")
    assert validator.principal(v1).email == "bob@example.com"


@pytest.mark.parametrize(("claims", "why"), [
    ({"aud": "00000003-0000-0000-c000-000000000000"}, "Audience"),        # a Graph token
    ({"iss": "https://login.microsoftonline.com/another-tenant/v2.0"}, "issuer"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
    ({"nbf": int(time.time()) + 3600}, "not yet valid"),
    ({"exp": None}, "exp"),
])
def test_tokens_for_another_app_tenant_or_time_are_refused(keyset, validator, claims, why):
    with pytest.raises(Unauthenticated, match=why):
        validator.principal(token(keyset.keys["key-1"], **claims))


def test_a_token_signed_by_a_key_the_tenant_does_not_publish_is_refused(keyset, validator):
    with pytest.raises(Unauthenticated, match="Signature verification failed"):
        validator.principal(token(new_key(), kid="key-1"))       # same key id, another key
    with pytest.raises(Unauthenticated, match="refused"):
        validator.principal(token(new_key(), kid="key-unknown"))


def test_unsigned_and_symmetric_tokens_are_refused(keyset, validator):
    claims = jwt.decode(token(keyset.keys["key-1"]), options={"verify_signature": False})
    for forged in (jwt.encode(claims, None, algorithm="none", headers={"kid": "key-1"}),
                   jwt.encode(claims, "a shared secret of thirty-two bytes!", algorithm="HS256",
                              headers={"kid": "key-1"})):
        with pytest.raises(Unauthenticated):
            validator.principal(forged)
    with pytest.raises(Unauthenticated):
        validator.principal("not.a.token")


def test_keys_are_fetched_once_and_again_when_the_tenant_rolls_a_new_key(keyset, validator):
    for _ in range(5):
        validator.principal(token(keyset.keys["key-1"]))
    assert keyset.fetches == 1
    keyset.keys["key-2"] = new_key()
    assert validator.principal(token(keyset.keys["key-2"], kid="key-2")).email == "alice@example.com"
    assert keyset.fetches == 2


def test_an_application_token_is_an_admin_only_by_its_app_role(keyset, validator):
    app_token = token(keyset.keys["key-1"], preferred_username=None, scp=None, idtyp="app",
                      azp="11111111-2222-3333-4444-555555555555", roles=[ADMIN_ROLE])
    principal = validator.principal(app_token)
    assert principal.email == "app:11111111-2222-3333-4444-555555555555" and is_admin(principal, ())
    plain = validator.principal(token(keyset.keys["key-1"], preferred_username=None, scp=None, idtyp="app",
                                      azp="11111111-2222-3333-4444-555555555555"))
    assert not is_admin(plain, ("finance@example.com",))


def test_principal_of_takes_the_bearer_token_when_entra_is_configured(keyset):
    settings = Settings(entra_tenant_id=TENANT, entra_audiences=(CLIENT_ID,), entra_jwks_url=keyset.url)
    headers = {"Authorization": f"Bearer {token(keyset.keys['key-1'])}"}
    assert principal_of(headers, settings).email == "alice@example.com"
    assert validator_for(settings) is validator_for(settings)      # one key cache per process
    with pytest.raises(Unauthenticated):                           # a bad token is not "try the header"
        principal_of({"authorization": "bearer garbage", "X-MS-CLIENT-PRINCIPAL": encode_principal("a@b.c")},
                     Settings(entra_tenant_id=TENANT, entra_audiences=(CLIENT_ID,), entra_jwks_url=keyset.url,
                              platform_auth=True))


def test_without_entra_settings_the_header_rules_stay(keyset):
    headers = {"Authorization": f"Bearer {token(keyset.keys['key-1'])}"}
    with pytest.raises(Unauthenticated, match="authentication is not enabled"):
        principal_of(headers, Settings())
    trusted = Settings(platform_auth=True)
    assert principal_of({"X-MS-CLIENT-PRINCIPAL": encode_principal("carol@example.com")}, trusted).email == \
        "carol@example.com"
    assert validator_for(trusted) is None
