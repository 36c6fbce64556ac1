"""The optional ``actuals:`` section: validated whole, problems by path, old configs unchanged."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chargeback.config.loading import config_from_dict, parse_config
from chargeback.errors import InvalidConfig

BASE = """\
currency: USD
departments: [{id: marketing, subscriptions: [sub-mkt]}]
prices: [{deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}]
pools: [{deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 100}]
"""
RESOURCE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/aoai-shared"
# The DESIGN.md "actuals:" example with its elided resource id written out.
DESIGN_SECTION = f"""\
actuals:                     # allocate the real Azure bill (see "Actual bill" below)
  mode: list                 # list (default) | true_up | actual
  resources: ["{RESOURCE}"]
  meters:                    # Cost Management meter name -> what it bills
    "gpt 4o 0806 Inp glbl Tokens":        {{deployment: gpt-4o, meter: input}}
    "gpt 4o 0806 cached Inp glbl Tokens": {{deployment: gpt-4o, meter: cached_input}}
    "gpt 4o 0806 Outp glbl Tokens":       {{deployment: gpt-4o, meter: output}}
    "Provisioned Managed Global":         {{pool: gpt-4o-ptu}}
"""


def problems_of(section: str) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        parse_config(BASE + section)
    return caught.value.problems


def test_the_design_example_parses():
    actuals = parse_config(BASE + DESIGN_SECTION).actuals
    assert actuals is not None
    assert (actuals.mode, actuals.resources, actuals.drift_warn_percent) == ("list", (RESOURCE,), Decimal(2))
    assert actuals.target_for("GPT 4o 0806 Inp GLBL Tokens ").key == "gpt-4o/input"   # case and spaces ignored
    assert actuals.target_for("Provisioned Managed Global").key == "pool:gpt-4o-ptu"
    assert actuals.target_for("gpt 4o mini 0718 Inp glbl Tokens") is None
    assert actuals.covers(RESOURCE.upper()) and not actuals.covers(RESOURCE + "2")


def test_a_config_without_the_section_keeps_its_shape_and_fingerprint():
    config = parse_config(BASE)
    assert config.actuals is None and "actuals" not in config.to_dict()
    with_section = parse_config(BASE + DESIGN_SECTION)
    assert with_section.fingerprint() != config.fingerprint()


def test_the_section_survives_the_stored_round_trip():
    config = parse_config(BASE + DESIGN_SECTION.replace("mode: list", "mode: true_up") + "  drift_warn_percent: 5\n")
    again = config_from_dict(config.to_dict())
    assert again.actuals == config.actuals and again.fingerprint() == config.fingerprint()
    assert again.actuals is not None and again.actuals.drift_warn_percent == Decimal(5)


def test_every_problem_is_named_by_path():
    section = f"""\
actuals:
  mode: estimate
  resources: ["{RESOURCE}", "{RESOURCE.upper()}", "aoai-shared"]
  drift_warn_percent: -1
  meters:
    "a": {{deployment: gpt-4o, meter: tokens}}
    "A ": {{deployment: gpt-4o, meter: input}}
    "b": {{pool: gpt-4o}}
    "c": {{pool: gpt-4o-ptu, deployment: gpt-4o}}
    "d": {{deployment: gpt-4o}}
    "e": [gpt-4o, input]
"""
    assert problems_of(section) == [
        "actuals.mode: must be one of list, true_up, actual, got \"estimate\"",
        f'actuals.resources[1]: "{RESOURCE.upper()[:56]}..." is listed twice (resource ids compare case-insensitively)',
        'actuals.resources[2]: "aoai-shared" is not an Azure resource id (it starts with /subscriptions/)',
        'actuals.meters."a".meter: "tokens" is not a meter; one of input, cached_input, cache_write_input, '
        "audio_input, cached_audio_input, image_input, cached_image_input, output, audio_output, image_output, "
        "audio_seconds, characters",
        'actuals.meters."A ": repeats "a" (meter names compare case-insensitively)',
        'actuals.meters."b".pool: "gpt-4o" is not a deployment of pools',
        'actuals.meters."c": give {pool: D} or {deployment: D, meter: M}, not both',
        "actuals.meters.\"d\".meter: required (or give {pool: D} for a PTU pool's meter)",
        'actuals.meters."e": must be {deployment: D, meter: M} or {pool: D}, got a list',
        "actuals.drift_warn_percent: must not be negative, got -1",
    ]


def test_resources_are_required_and_typos_are_suggested():
    assert problems_of("actuals: {mode: actual, resource: []}\n") == [
        'actuals.resource: unknown key (did you mean "resources"?)']
    assert problems_of("actuals: {mode: actual}\n") == ["actuals.resources: required"]
    assert problems_of("actuals: []\n") == ["actuals: must be a mapping with mode, resources, meters, got a list"]
