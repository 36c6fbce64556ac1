"""Issue 11: a hostile or broken config gets a named problem, never a traceback or an exhausted machine."""
from __future__ import annotations

import json
import time

import pytest

from chargeback.config.loading import parse_config
from chargeback.errors import InvalidConfig
from tests.unit.config.test_config import VALID, problems_of

LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
? [*f,*f,*f,*f,*f,*f,*f,*f,*f]
: x
"""


def test_a_billion_laughs_as_a_mapping_key_is_refused_at_once():
    started = time.monotonic()
    (problem,) = problems_of(LAUGHS)
    assert "anchors and aliases" in problem and "line 1" in problem
    assert time.monotonic() - started < 2


def test_an_anchor_or_merge_key_in_a_real_config_is_refused():
    anchored = VALID.replace("    input: 2.50", "    input: &rate 2.50").replace("cached_input: 1.25",
                                                                           "cached_input: *rate")
    assert any("anchors and aliases" in p for p in problems_of(anchored))


@pytest.mark.parametrize("nesting", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000])
def test_5000_deep_nesting_is_a_named_problem(nesting):
    (problem,) = problems_of("currency: USD\nx: " + nesting)
    assert "nested more than 32 levels" in problem


@pytest.mark.parametrize("key", ["1", "true", "~", "[a, b]", "2026-01-01"])
def test_keys_must_be_text(key):
    text = VALID.replace("currency: USD", f"currency: USD\n{key}: 1") if key != "2026-01-01" else \
        VALID.replace("currency: USD", "currency: USD\n? 2026-01-01\n: 1")
    problems = problems_of(text)
    assert any("keys must be text" in p or "unknown key" in p for p in problems), problems


def test_a_date_key_stays_text_and_is_an_unknown_key():
    assert problems_of(VALID.replace("currency: USD", "currency: USD\n2026-01-01: 1")) == [
        '2026-01-01: unknown key (known keys: currency, markup_percent, departments, prices, pools, admins, actuals)']


def test_a_file_past_the_size_bound_is_refused_before_parsing():
    (problem,) = problems_of(VALID + "# " + "x" * (5 * 1024 * 1024) + "\n")
    assert "a config is at most" in problem


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("markup_percent: 0 ", "markup_percent: " + "9" * 5000 + " ", "markup_percent: must be at most 1,000"),
    ("markup_percent: 0 ", "markup_percent: 1e999999999 ", "markup_percent: must be at most 1,000"),
    ("markup_percent: 0 ", "markup_percent: 1001 ", "markup_percent: must be at most 1,000"),
    ("output: 10.00", "output: 1e13", "prices[0].output: must be at most 1,000,000,000,000"),
    ("output: 10.00", "output: 1e-999999999", "prices[0].output: has more than 18 decimal places"),
    ("monthly_cost: 26000.00", "monthly_cost: " + "1" * 5000, "pools[0].monthly_cost: must be at most"),
])
def test_every_number_has_a_plausible_range(old, new, expected):
    assert old in VALID
    problems = problems_of(VALID.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


def test_the_edges_of_the_ranges_are_accepted():
    config = parse_config(VALID.replace("markup_percent: 0 ", "markup_percent: 1000 ", 1)
                          .replace("output: 10.00", "output: 0.000000000000000001"))
    assert config.markup_percent == 1000


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\n", "\r", "\u0000", "\u001b", "\u202e",
                                  "\u000b", "\u000c"])
def test_names_with_line_breaks_or_controls_are_refused(char):
    escaped = char.encode("unicode_escape").decode()
    text = VALID.replace("    name: Marketing", f'    name: "Mark{escaped}eting"')
    (problem,) = problems_of(text)
    assert problem.startswith("departments[0].name: contains U+") and "remove it" in problem


def test_a_name_with_ordinary_unicode_is_kept():
    config = parse_config(VALID.replace("name: Marketing", 'name: "Marketing – Ré & Co 📣"'))
    assert config.departments[0].name == "Marketing – Ré & Co 📣"


@pytest.mark.parametrize("address", ["a,victim2@evil.example", "alice@contoso.com, bob@contoso.com",
                                     "Alice <alice@contoso.com>", '"a,b"@contoso.com',
                                     "alice@contoso.com\u2028bcc@evil.example", "alice@[10.0.0.1]"])
def test_each_address_is_exactly_one_address(address):
    text = VALID.replace("notify: {email: [alice@contoso.com]", f"notify: {{email: [{json.dumps(address)}]")
    problems = problems_of(text)
    assert len(problems) == 1 and problems[0].startswith("departments[0].notify.email[0]: "), problems


def test_international_addresses_are_kept():
    config = parse_config(VALID.replace("owners: [alice@contoso.com]", "owners: [jürgen@müller.example]"))
    assert config.departments[0].owners == ("jürgen@müller.example",)


def test_refusals_are_invalid_config_not_tracebacks():
    for text in (LAUGHS, "a: " + "[" * 100_000, "? !!python/object:os.system\n: 1", "\x00"):
        with pytest.raises(InvalidConfig):
            parse_config(text)
