"""Viewers and Entra groups (issue 13): viewers, notice recipients and group members see a department's
invoices like its owners; nobody else does; old configs keep their fingerprints."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from chargeback.config.loading import config_from_dict, parse_config
from chargeback.errors import InvalidConfig
from chargeback.owners.access import InvoiceAccess
from chargeback.owners.bearer import BearerValidator
from chargeback.owners.identity import Principal, principal_from_headers
from chargeback.settings import Settings

from .entra_keys import CLIENT_ID, TENANT, KeySet, token

MKT_GROUP = "0b6c2a51-3f0e-4c1e-9d7a-2f64c1e1a0b7"
SALES_GROUP = "7e1d9c44-aa10-4b7f-8f2e-55c0d3e9b612"

CONFIG = parse_config(f"""
currency: USD
departments:
  - id: marketing
    owners: [alice@example.com, {MKT_GROUP.upper()}]
    viewers: [Vera@Example.com]
    notify: {{email: [billing@example.com]}}
    subscriptions: [sub-mkt]
  - id: sales
    owners: [bob@example.com]
    viewers: ["{SALES_GROUP}"]
    subscriptions: [sub-s]
""")


def sees(principal: Principal) -> set[str]:
    access = InvoiceAccess.of(principal, CONFIG)
    return {d for d in ("marketing", "sales", "legal") if access.may_see(d)}


@pytest.mark.parametrize(("principal", "departments"), [
    (Principal("vera@example.com", frozenset()), {"marketing"}),                  # a viewer
    (Principal("billing@example.com", frozenset()), {"marketing"}),               # a notice recipient
    (Principal("gina@example.com", frozenset(), frozenset({MKT_GROUP})), {"marketing"}),   # owner group
    (Principal("sam@example.com", frozenset(), frozenset({SALES_GROUP})), {"sales"}),      # viewer group
    (Principal("both@example.com", frozenset(), frozenset({SALES_GROUP, MKT_GROUP})), {"marketing", "sales"}),
    (Principal("eve@example.com", frozenset(), frozenset({"11111111-2222-3333-4444-555555555555"})), set()),
    (Principal(MKT_GROUP, frozenset()), {"marketing"}),   # never happens: an email claim holds an address
])
def test_viewers_recipients_and_group_members_see_their_department_only(principal, departments):
    assert sees(principal) == departments


def test_a_group_id_is_not_matched_by_a_lookalike_address():
    assert sees(Principal(f"{MKT_GROUP}@example.com", frozenset())) == set()


def test_group_ids_are_stored_lower_case_and_viewers_survive_the_stored_form():
    marketing, sales = CONFIG.departments
    assert marketing.owners == ("alice@example.com", MKT_GROUP) and marketing.viewers == ("Vera@Example.com",)
    assert sales.viewers == (SALES_GROUP,)
    again = config_from_dict(CONFIG.to_dict())
    assert again == CONFIG and again.fingerprint() == CONFIG.fingerprint()


def test_a_config_without_viewers_keeps_its_first_release_fingerprint():
    # the first release's fingerprint of tests/data/configs/sample.yaml (tests/unit/config/test_meter_prices.py)
    text = (Path(__file__).resolve().parents[2] / "data" / "configs" / "sample.yaml").read_text(encoding="utf-8")
    config = parse_config(text)
    first_release = "sha256:11f64b6ab033305e45b1528432fef3051e3bd92ae09f7147eb3618c66bee7a2a"
    assert all(not d.viewers for d in config.departments) and config.fingerprint() == first_release
    with_empty = config_from_dict({**config.to_dict(), "departments": [
        {**d, "viewers": []} for d in config.to_dict()["departments"]]})
    assert with_empty.fingerprint() == first_release


@pytest.mark.parametrize(("viewers", "problem"), [
    ("[vera]", 'departments[0].viewers[0]: "vera" is not an email address'),
    ("vera@example.com", "departments[0].viewers: must be a list of email addresses"),
    ('["0b6c2a51-3f0e-4c1e-9d7a-2f64c1e1a0b"]', "departments[0].viewers[0]:"),   # one hex digit short
])
def test_viewers_that_are_neither_address_nor_group_id_are_refused(viewers, problem):
    with pytest.raises(InvalidConfig) as refused:
        parse_config(f"currency: USD\ndepartments:\n  - {{id: m, viewers: {viewers}, subscriptions: [s]}}\n")
    assert problem in str(refused.value)


def test_the_platform_principal_carries_its_groups_claims():
    doc = {"auth_typ": "aad", "role_typ": "roles", "claims": [
        {"typ": "preferred_username", "val": "gina@example.com"},
        {"typ": "groups", "val": MKT_GROUP.upper()},
        {"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", "val": SALES_GROUP},
        {"typ": "roles", "val": MKT_GROUP.replace("0b6c", "ffff")}]}   # a role is not a group
    header = {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(doc).encode()).decode()}
    principal = principal_from_headers(header, Settings(platform_auth=True))
    assert principal.groups == {MKT_GROUP, SALES_GROUP}
    assert sees(principal) == {"marketing", "sales"}


@pytest.fixture
def keyset():
    keys = KeySet()
    yield keys
    keys.close()


def test_a_bearer_tokens_groups_claim_is_matched(keyset):
    validator = BearerValidator(TENANT, (CLIENT_ID,), keyset.url, refresh_cooldown=0)
    member = validator.principal(token(keyset.keys["key-1"], preferred_username="gina@example.com",
                                       groups=[SALES_GROUP]))
    assert member.groups == {SALES_GROUP} and sees(member) == {"sales"}
    overage = validator.principal(token(keyset.keys["key-1"], preferred_username="gina@example.com",
                                        _claim_names={"groups": "src1"}))   # >200 groups: no ids sent
    assert overage.groups == frozenset() and sees(overage) == set()
