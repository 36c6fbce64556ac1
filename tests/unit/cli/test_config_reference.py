"""docs/config.md stays in step with the validator: every key it accepts is documented, the examples import,
and what the reference calls planned is still refused."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from chargeback.config import actuals, validate
from chargeback.config.loading import parse_config
from chargeback.errors import InvalidConfig

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "config.md"
TEXT = REFERENCE.read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, re.S)
BASE = {"currency": "USD", "departments": [{"id": "base", "subscriptions": ["sub-base"]}],
        "pools": [{"deployment": "gpt-4o-ptu", "effective_from": "2026-01-01", "monthly_cost": 1}]}


def _documented_keys() -> set[str]:
    cells = re.findall(r"^\| `([^|]+)` \|", TEXT, re.M)
    return {k.strip("` ") for cell in cells for k in re.split(r"`, `|` \+ `|`\s*,\s*`", cell)}


@pytest.mark.parametrize("keys", [validate.TOP_KEYS, validate.DEPARTMENT_KEYS, validate.PRICE_KEYS,
                                  validate.POOL_KEYS, actuals.ACTUALS_KEYS], ids=lambda k: k[0])
def test_every_key_the_validator_accepts_is_in_the_reference(keys):
    documented = _documented_keys() | {f"notify.{k}" for k in validate.NOTIFY_KEYS}
    missing = [k for k in keys if k not in documented and f"notify.{k}" not in documented
               and not (k == "notify" and "notify.email" in documented)
               and not (k == "budget" and "budget.monthly" in documented)]
    assert missing == []


def test_every_example_imports():
    assert len(BLOCKS) >= 5
    for block in BLOCKS:
        doc = yaml.safe_load(block)
        parse_config(yaml.safe_dump({**BASE, **doc} if "currency" not in doc else doc))


def test_viewers_are_implemented_and_accepted():
    assert re.search(r"`viewers` \|.*\| implemented \|", TEXT)
    doc = {**BASE, "departments": [{"id": "a", "subscriptions": ["s"], "viewers": ["v@contoso.com"]}]}
    assert parse_config(yaml.safe_dump(doc)).departments[0].viewers == ("v@contoso.com",)


def test_budgets_are_implemented_and_accepted():
    assert re.search(r"`budget\.monthly`.*\| implemented \|", TEXT)
    assert not re.search(r"\| planned \|", TEXT)   # nothing the reference lists is left planned
    doc = {**BASE, "departments": [{"id": "a", "subscriptions": ["s"],
                                    "budget": {"monthly": 100, "alert_at_percent": [50]}}]}
    assert parse_config(yaml.safe_dump(doc)).departments[0].budget.monthly == 100
    with pytest.raises(InvalidConfig, match=r"budget\.monthly: must be more than 0"):
        parse_config(yaml.safe_dump({**doc, "departments": [{**doc["departments"][0], "budget": {"monthly": 0}}]}))
