"""Config validation: every refusal names the path and the problem; valid files parse exactly as written."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chargeback.config.loading import config_from_dict, parse_config
from chargeback.config.model import UNALLOCATED, effective_periods
from chargeback.errors import InvalidConfig

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "configs" / "sample.yaml"
TEST_FINGERPRINT = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"   # of "test"

# The DESIGN.md example, verbatim except that its abbreviated fingerprint is written out in full.
DESIGN_EXAMPLE = """\
currency: USD
markup_percent: 0            # optional platform fee on every charge
departments:
  - id: marketing            # [a-z0-9-]+, used in paths
    name: Marketing
    cost_center: CC-1001
    owners: [alice@contoso.com]           # may download this department's invoices
    notify: {email: [alice@contoso.com], webhook: null}
    subscriptions: [sub-mkt-01, "sha256:9f86d0..."]   # APIM subscription ids or key fingerprints
prices:                      # pay-as-you-go, per deployment, effective-dated
  - deployment: gpt-4o
    effective_from: 2026-01-01
    unit: 1M                 # 1K or 1M tokens
    input: 2.50
    cached_input: 1.25
    output: 10.00
pools:                       # provisioned (PTU) deployments: a fixed cost shared by use
  - deployment: gpt-4o-ptu
    effective_from: 2026-01-01
    monthly_cost: 26000.00   # or: ptus + hourly_rate (billed per hour deployed)
    weights: {input: 1, cached_input: 0, output: 4}
admins: [finance@contoso.com]             # may rerun months and see every invoice
"""
VALID = DESIGN_EXAMPLE.replace("sha256:9f86d0...", TEST_FINGERPRINT)


def problems_of(text: str) -> list[str]:
    with pytest.raises(InvalidConfig) as refused:
        parse_config(text)
    return refused.value.problems


def test_the_design_example_parses_as_written():
    config = parse_config(VALID)
    assert config.currency == "USD"
    assert config.markup_percent == 0
    [marketing] = config.departments
    assert (marketing.id, marketing.name, marketing.cost_center) == ("marketing", "Marketing", "CC-1001")
    assert marketing.owners == ("alice@contoso.com",)
    assert marketing.notify.email == ("alice@contoso.com",) and marketing.notify.webhook is None
    [price] = config.prices
    assert (price.deployment, price.effective_from, price.unit) == ("gpt-4o", date(2026, 1, 1), "1M")
    assert (price.input, price.cached_input, price.output) == (Decimal("2.50"), Decimal("1.25"), Decimal("10.00"))
    assert price.tokens_per_unit == 1_000_000
    [pool] = config.pools
    assert pool.monthly_cost == Decimal("26000.00") and pool.ptus is None
    assert (pool.weights.input, pool.weights.cached_input, pool.weights.output) == (1, 0, 4)
    assert config.admins == ("finance@contoso.com",)


def test_the_design_examples_abbreviated_fingerprint_is_refused_by_path():
    assert problems_of(DESIGN_EXAMPLE) == [
        'departments[0].subscriptions[1]: "sha256:9f86d0..." is not a whole key fingerprint: sha256: and 64 '
        "lower-case hex digits (`chargeback config fingerprint KEY` prints it)"]


def test_the_sample_config_parses():
    config = parse_config(SAMPLE.read_text())
    assert [d.id for d in config.departments] == ["marketing", "sales", "research", "legal"]
    assert config.department_for("sha256:9d0081246de3a423e824d22998df899b76f530c5b5615eceebabdc4329d36db4") == "legal"
    assert {p.deployment for p in config.prices} == {"gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-large"}
    assert [p.effective_from for p in config.price_history("gpt-4o")] == [date(2026, 1, 1), date(2026, 3, 16)]
    assert [p.deployment for p in config.pools] == ["gpt-4o-ptu"]
    assert config.markup_percent == Decimal("2.5")


def test_decimals_are_exactly_as_written():
    config = parse_config(VALID.replace("input: 2.50", "input: 0.1").replace("output: 10.00", "output: 1_000.000001"))
    assert str(config.prices[0].input) == "0.1"        # not 0.1000000000000000055511151231257827...
    assert str(config.prices[0].output) == "1000.000001"


def test_department_for_matches_exactly_and_defaults_to_unallocated():
    config = parse_config(VALID)
    assert config.department_for("sub-mkt-01") == "marketing"
    assert config.department_for(TEST_FINGERPRINT) == "marketing"
    assert config.department_for("SUB-MKT-01") == UNALLOCATED
    assert config.department_for("sub-mkt-01 ") == UNALLOCATED
    assert config.department_for(TEST_FINGERPRINT.upper()) == UNALLOCATED


def test_to_dict_round_trips_through_json():
    config = parse_config(SAMPLE.read_text())
    stored = json.loads(json.dumps(config.to_dict()))
    assert stored["prices"][0]["input"] == "2.50" and stored["prices"][0]["effective_from"] == "2026-01-01"
    assert config_from_dict(stored) == config
    assert config_from_dict(stored).fingerprint() == config.fingerprint()


def test_from_dict_validates_too():
    stored = parse_config(VALID).to_dict()
    stored["prices"][0]["unit"] = "1G"
    with pytest.raises(InvalidConfig) as refused:
        config_from_dict(stored)
    assert refused.value.problems == ['prices[0].unit: must be 1K or 1M, got "1G"']


def test_fingerprint_ignores_layout_but_not_content():
    reformatted = "\n".join(line.split("#")[0].rstrip() for line in VALID.splitlines()).replace(
        "weights: {input: 1, cached_input: 0, output: 4}",
        "weights:\n      output: 4\n      input: 1\n      cached_input: 0")
    first, second = parse_config(VALID).fingerprint(), parse_config(reformatted).fingerprint()
    assert first == second
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    assert parse_config(VALID.replace("output: 10.00", "output: 10.01")).fingerprint() != first


def test_pool_by_ptus_and_default_weights():
    text = VALID.replace("    monthly_cost: 26000.00   # or: ptus + hourly_rate (billed per hour deployed)\n"
                         "    weights: {input: 1, cached_input: 0, output: 4}\n",
                         "    ptus: 100\n    hourly_rate: 1.50\n")
    [pool] = parse_config(text).pools
    assert (pool.ptus, pool.hourly_rate, pool.monthly_cost) == (100, Decimal("1.50"), None)
    assert (pool.weights.input, pool.weights.cached_input, pool.weights.output) == (1, 1, 1)


def test_missing_cached_input_means_the_input_rate():
    [price] = parse_config(VALID.replace("    cached_input: 1.25\n", "")).prices
    assert price.cached_input is None and price.cached_input_rate == Decimal("2.50")


def test_yaml_1_1_surprises_are_read_as_a_person_means_them():
    text = VALID.replace("id: marketing", "id: no").replace("cost_center: CC-1001", "cost_center: 010")
    assert problems_of(text) == [   # unquoted 010 is a number (ten, not octal eight), and a cost center is text
        "departments[0].cost_center: must be text, got the number 10; put it in quotes to keep it as written"]
    config = parse_config(VALID.replace("id: marketing", "id: no"))
    assert config.departments[0].id == "no"   # not False


def test_effective_periods_run_until_superseded():
    config = parse_config(SAMPLE.read_text())
    periods = effective_periods(config.price_history("gpt-4o"), date(2026, 3, 1), date(2026, 4, 1))
    assert [(p.input, start, stop) for p, start, stop in periods] == [
        (Decimal("2.50"), date(2026, 3, 1), date(2026, 3, 16)), (Decimal("2.00"), date(2026, 3, 16), date(2026, 4, 1))]
    april = effective_periods(config.price_history("gpt-4o"), date(2026, 4, 1), date(2026, 5, 1))
    assert [(p.input, start, stop) for p, start, stop in april] == [
        (Decimal("2.00"), date(2026, 4, 1), date(2026, 5, 1))]
    assert effective_periods(config.price_history("gpt-4o"), date(2025, 12, 1), date(2026, 1, 1)) == []


def test_minor_unit_follows_the_currency():
    assert parse_config(VALID).minor_unit == 2
    assert parse_config(VALID.replace("currency: USD", "currency: JPY")).minor_unit == 0
    assert parse_config(VALID.replace("currency: USD", "currency: KWD")).minor_unit == 3


# (what to change in the valid example, the exact problem expected)
REFUSALS = [
    ("subscriptions: [sub-mkt-01", "subscription: [sub-mkt-01",
     ['departments[0].subscription: unknown key (did you mean "subscriptions"?)']),
    ("    subscriptions: [sub-mkt-01, ", "    subs: [sub-mkt-01, ",
     ["departments[0].subs: unknown key (known keys: id, name, cost_center, owners, notify, subscriptions, "
      "viewers, budget)",
      "departments[0].subscriptions: required"]),
    ("    cached_input: 1.25", "    cached_imput: 1.25",
     ['prices[0].cached_imput: unknown key (did you mean "cached_input"?)']),
    ("markup_percent: 0 ", "markup_prcent: 0 ", ['markup_prcent: unknown key (did you mean "markup_percent"?)']),
    ("admins:", "colour: blue\nadmins:",
     ["colour: unknown key (known keys: currency, markup_percent, departments, prices, pools, admins, actuals)"]),
    ("input: 2.50", "input: -2.50", ["prices[0].input: must not be negative, got -2.50"]),
    ("monthly_cost: 26000.00", "monthly_cost: -1", ["pools[0].monthly_cost: must not be negative, got -1"]),
    ("markup_percent: 0 ", "markup_percent: -5 ", ["markup_percent: must not be negative, got -5"]),
    ("output: 10.00", "output: ten", ['prices[0].output: must be a number, got "ten"']),
    ("output: 10.00", "output: .inf", ['prices[0].output: must be a number, got ".inf"']),
    ("unit: 1M ", "unit: 1k ", ['prices[0].unit: must be 1K or 1M, got "1k"']),
    ("unit: 1M ", "unit: 1000 ", ["prices[0].unit: must be 1K or 1M, got 1000"]),
    ("id: marketing", "id: Mkt Dept", ['departments[0].id: "Mkt Dept" must match [a-z0-9-]+ '
                                       '(lower-case letters, digits, hyphens), e.g. "mkt-dept"']),
    ("id: marketing", "id: ___", ['departments[0].id: "___" must match [a-z0-9-]+ '
                                  "(lower-case letters, digits, hyphens)"]),
    ("id: marketing", "id: unallocated",
     ['departments[0].id: "unallocated" is reserved for usage no department claims']),
    ("    effective_from: 2026-01-01\n    unit", "    effective_from: 2026-02-30\n    unit",
     ["prices[0].effective_from: 2026-02-30 is not a real date"]),
    ("    effective_from: 2026-01-01\n    unit", "    effective_from: 01/02/2026\n    unit",
     ['prices[0].effective_from: must be a date written YYYY-MM-DD, got "01/02/2026"']),
    ("currency: USD", "currency: usd", ['currency: must be a 3-letter ISO 4217 code in capitals such as USD or EUR, '
                                        'got "usd"']),
    ("currency: USD", "currency: DOLLARS",
     ['currency: must be a 3-letter ISO 4217 code in capitals such as USD or EUR, got "DOLLARS"']),
    ("currency: USD\n", "", ["currency: required"]),
    ("owners: [alice@contoso.com]", "owners: [alice]", ['departments[0].owners[0]: "alice" is not an email address']),
    ("owners: [alice@contoso.com]", "owners: alice@contoso.com",
     ["departments[0].owners: must be a list of email addresses, e.g. [alice@contoso.com], got text"]),
    ("admins: [finance@contoso.com]", "admins: [finance@contoso.com, finance]",
     ['admins[1]: "finance" is not an email address']),
    ("webhook: null", "webhook: ftp://hooks.contoso.com/x",
     ['departments[0].notify.webhook: must be an http(s) URL or null, got "ftp://hooks.contoso.com/x"']),
    ("webhook: null", "webhook: hooks.contoso.com",
     ['departments[0].notify.webhook: must be an http(s) URL or null, got "hooks.contoso.com"']),
    ("webhook: null", "webhok: null", ['departments[0].notify.webhok: unknown key (did you mean "webhook"?)']),
    ("subscriptions: [sub-mkt-01,", "subscriptions: [sub-mkt-01, sub-mkt-01,",
     ['departments[0].subscriptions[1]: "sub-mkt-01" is listed twice']),
    ("subscriptions: [sub-mkt-01,", "subscriptions: [0123456789abcdef0123456789abcdef,",
     ["departments[0].subscriptions[0]: looks like a raw subscription key, which is a secret: list its fingerprint "
      "instead (`chargeback config fingerprint KEY`)"]),
    ("    monthly_cost: 26000.00   # or: ptus + hourly_rate (billed per hour deployed)\n", "",
     ["pools[0]: has no cost: needs monthly_cost, or ptus and hourly_rate"]),
    ("    monthly_cost: 26000.00 ", "    ptus: 50\n    monthly_cost: 26000.00 ",
     ["pools[0]: give monthly_cost or ptus + hourly_rate, not both"]),
    ("    monthly_cost: 26000.00 ", "    ptus: 50\n ",
     ["pools[0].hourly_rate: required with ptus (the pool costs ptus x hourly_rate per hour)"]),
    ("    monthly_cost: 26000.00 ", "    ptus: 12.5\n    hourly_rate: 1\n ",
     ["pools[0].ptus: must be a whole number of PTUs above 0, got 12.5"]),
    ("weights: {input: 1, cached_input: 0, output: 4}", "weights: {input: 0, cached_input: 0, output: 0}",
     ["pools[0].weights: at least one weight must be above 0, or nobody could be charged for the pool"]),
    ("weights: {input: 1, cached_input: 0, output: 4}", "weights: {input: 1, cached: 0, output: 4}",
     ['pools[0].weights.cached: unknown key (did you mean "cached_input"?)']),
    ("    output: 10.00\n", "    ouput: 10.00\n", ['prices[0].ouput: unknown key (did you mean "output"?)']),
    ("    output: 10.00\n", "    output: 10.00\n    output: 12.00\n",
     ["prices[0].output: is given twice in the same mapping"]),
    ("pools:", "  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1K, input: 1, output: 2}\npools:",
     ['prices[1].effective_from: 2026-01-01 repeats prices[0] for deployment "gpt-4o"; '
      "one entry per deployment and date"]),
    ("admins:", "  - {deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 1}\nadmins:",
     ['pools[1].effective_from: 2026-01-01 repeats pools[0] for deployment "gpt-4o-ptu"; '
      "one entry per deployment and date"]),
    ("  - deployment: gpt-4o-ptu", "  - deployment: gpt-4o",
     ['pools[0].deployment: "gpt-4o" also has a pay-as-you-go price (prices[0]); '
      "a deployment is billed per token or as a pool, not both"]),
]


@pytest.mark.parametrize(("old", "new", "expected"), REFUSALS, ids=[r[2][0].split(":")[0] for r in REFUSALS])
def test_each_refusal_names_its_path(old, new, expected):
    assert old in VALID, old
    assert problems_of(VALID.replace(old, new, 1)) == expected


def test_a_subscription_claimed_by_two_departments():
    text = VALID.replace("prices:", "  - id: sales\n    subscriptions: [sub-s, sub-mkt-01]\nprices:", 1)
    assert problems_of(text) == ['departments[1].subscriptions[1]: "sub-mkt-01" is already claimed by department '
                                 '"marketing"']


def test_duplicate_department_ids():
    text = VALID.replace("prices:", "  - id: marketing\n    subscriptions: [sub-other]\nprices:", 1)
    assert problems_of(text) == ['departments[1].id: "marketing" is already used by departments[0]']


def test_every_problem_is_reported_at_once():
    text = (VALID.replace("unit: 1M ", "unit: 1G ").replace("id: marketing", "id: Marketing")
            .replace("input: 2.50", "input: -1").replace("admins: [finance@contoso.com]", "admins: [finance]"))
    problems = problems_of(text)
    assert {p.split(":")[0] for p in problems} == {"prices[0].unit", "departments[0].id", "prices[0].input",
                                                   "admins[0]"}


@pytest.mark.parametrize(("text", "expected"), [
    ("", ["file: is empty; expected a mapping with currency, departments, prices, pools"]),
    ("# only a comment\n", ["file: is empty; expected a mapping with currency, departments, prices, pools"]),
    ("- a\n- b\n", ["file: must be a mapping with currency, departments, prices, pools, got a list"]),
    ("just words", ["file: must be a mapping with currency, departments, prices, pools, got text"]),
])
def test_files_that_are_not_a_yaml_mapping(text, expected):
    assert problems_of(text) == expected


@pytest.mark.parametrize(("text", "where"), [
    ("currency: USD\ndepartments: [\n", "line 3, column 1"),
    ("a: 1\n---\nb: 2\n", "line 2, column 1"),
    ("currency: USD\n\tdepartments: []\n", "line 2, column 1"),
    ("currency: USD\ndepartments: [a, b\nprices: []\n", "line 3, column 7"),
])
def test_text_that_is_not_yaml_says_where(text, where):
    [problem] = problems_of(text)
    assert problem.startswith(f"file: not valid YAML at {where}: "), problem   # then PyYAML's own words


def test_wrong_shapes_are_named():
    text = "currency: USD\ndepartments: {id: marketing}\nprices: gpt-4o\npools: [gpt-4o-ptu]\n"
    assert problems_of(text) == ["departments: must be a list, got a mapping", "prices: must be a list, got text",
                                 "pools[0]: must be a mapping, got text"]


def test_a_file_full_of_typical_mistakes_reads_well():
    problems = problems_of((SAMPLE.parent / "typos.yaml").read_text())
    assert problems == [
        'admin: unknown key (did you mean "admins"?)',
        'currency: must be a 3-letter ISO 4217 code in capitals such as USD or EUR, got "EURO"',
        'markup_percent: must be a number, got "2,5"',
        'departments[0].subscription: unknown key (did you mean "subscriptions"?)',
        'departments[0].id: "Marketing" must match [a-z0-9-]+ (lower-case letters, digits, hyphens), e.g. "marketing"',
        'departments[0].owners[0]: "alice@contoso" is not an email address',
        'departments[1].notify.webhook: must be an http(s) URL or null, got "hooks.contoso.com/sales"',
        'departments[1].subscriptions[1]: "sub-sales-01" is listed twice',
        'prices[0].ouput: unknown key (did you mean "output"?)',
        "prices[0].effective_from: 2026-02-30 is not a real date",
        'prices[0].unit: must be 1K or 1M, got "1m"',
        "pools[0].monthly_cost: must not be negative, got -26000",
    ]
