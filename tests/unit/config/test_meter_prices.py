"""Prices and pools per meter (DESIGN.md "Configuration"): the meter-rate examples, what is required when,
and old configs unchanged (same fingerprint, so a rerun sees the same configuration version)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from chargeback.config.loading import config_from_dict, parse_config
from chargeback.errors import InvalidConfig

DATA = Path(__file__).resolve().parents[2] / "data"
HEAD = "currency: USD\ndepartments: [{id: a, name: A, subscriptions: [sub-a]}]\n"

# The DESIGN.md meter-rate examples, verbatim.
DESIGN_METER_RATES = HEAD + """\
prices:
  - deployment: gpt-4o-audio
    effective_from: 2026-01-01
    unit: 1M
    input: 2.50
    cached_input: 1.25
    output: 10.00
    audio_input: 40.00
    cached_audio_input: 2.50
    audio_output: 80.00
  - deployment: gpt-image-1
    effective_from: 2026-01-01
    unit: 1M
    input: 5.00
    image_input: 10.00
    cached_image_input: 2.50
    image_output: 40.00
  - deployment: whisper
    effective_from: 2026-01-01
    audio_hour: 0.36         # per hour of audio, prorated per second
  - deployment: tts-hd
    effective_from: 2026-01-01
    unit: 1M
    characters: 30.00        # per 1M input characters
"""

# Fingerprints the first release's code (commit 93ba1eb, before meters) computed for these files: old
# configs must keep them, or every month priced with one would look priced with another version.
FIRST_RELEASE_FINGERPRINTS = {
    "configs/sample.yaml": "sha256:11f64b6ab033305e45b1528432fef3051e3bd92ae09f7147eb3618c66bee7a2a",
    "golden/embeddings_responses_1k.yaml": "sha256:2023efc508e206c853c06cbe2602521e4187e748d4dfe3cafb0c93ba04cb6b04",
    "golden/jpy_zero_minor_unit.yaml": "sha256:5cffa16e29dd4ad3bf55f230bde49e62cd439cb6db7896130f3875c30170f46f",
    "golden/markup.yaml": "sha256:5e1ce60313469d56952703c75f3eb5acad8c4341c5c31e592dc83a3f2c5a6b42",
    "golden/month_edges.yaml": "sha256:4226a18fb41c28b8bd5a35fb69353ce70e43b11865902bf59574dc31711cf684",
    "golden/payg_price_change.yaml": "sha256:a02d2b2dbfe33e6d59491cf4fa4b86788d4d7b3fbc27d2ad8aafe9cd1201bd5f",
    "golden/pool_ptus_midmonth.yaml": "sha256:0dc0396e658b13e6dbbfce720da89a7370c3671f7e0cec63b44b3f324b134d4e",
    "golden/pool_three_way.yaml": "sha256:2fe8f310a5337a6e1b5d12676591929653c10966a374dd42e3cddee9e8dde4af",
    "golden/unused_pool_unallocated_unpriced.yaml":
        "sha256:a68fe1ac3ea94b36ee13438d395a6bd82c46f940d6f7513493b8755b1f1b4e5b",
}


def problems_of(text: str) -> list[str]:
    with pytest.raises(InvalidConfig) as refused:
        parse_config(text)
    return list(refused.value.problems)


@pytest.mark.parametrize("name", sorted(FIRST_RELEASE_FINGERPRINTS))
def test_old_configs_keep_their_fingerprint(name):
    text = (DATA / name).read_text(encoding="utf-8")
    if name.startswith("golden/"):
        text = yaml.safe_load(text)["config"]
    assert parse_config(text).fingerprint() == FIRST_RELEASE_FINGERPRINTS[name]


def test_the_design_meter_rates_parse_as_written():
    audio, image, whisper, tts = parse_config(DESIGN_METER_RATES).prices
    assert audio.rates == (("input", Decimal("2.50")), ("cached_input", Decimal("1.25")),
                           ("audio_input", Decimal("40.00")), ("cached_audio_input", Decimal("2.50")),
                           ("output", Decimal("10.00")), ("audio_output", Decimal("80.00")))
    assert image.rate("cached_image_input") == Decimal("2.50") and image.rate("image_output") == Decimal("40.00")
    assert image.rate("output") is None and image.rate("audio_input") is None   # not named: unpriced
    assert (whisper.unit, whisper.rates, whisper.audio_hour) == (None, (), Decimal("0.36"))
    assert (tts.unit, tts.rate("characters"), tts.rate("input")) == ("1M", Decimal("30.00"), None)


def test_only_the_documented_defaults_fall_back():
    [price] = parse_config(HEAD + "prices: [{deployment: m, effective_from: 2026-01-01, unit: 1K, input: 1, "
                                  "audio_input: 8, image_input: 4}]\n").prices
    assert (price.rate("cached_input"), price.rate("cache_write_input")) == (Decimal(1), Decimal(1))
    assert price.rate("cached_audio_input") == Decimal(8) and price.rate("cached_image_input") == Decimal(4)
    for meter in ("output", "audio_output", "image_output", "characters"):
        assert price.rate(meter) is None, meter


def test_unit_is_required_only_with_a_per_unit_rate():
    assert problems_of(HEAD + "prices: [{deployment: m, effective_from: 2026-01-01, audio_input: 8}]\n") == [
        "prices[0].unit: required with a per-unit rate (audio_input): 1K or 1M"]
    assert parse_config(HEAD + "prices: [{deployment: w, effective_from: 2026-01-01, audio_hour: 0.5}]\n")
    assert problems_of(HEAD + "prices: [{deployment: m, effective_from: 2026-01-01, unit: 1M}]\n") == [
        "prices[0]: names no rate: give at least one of input, cached_input, cache_write_input, audio_input, "
        "cached_audio_input, image_input, cached_image_input, output, audio_output, image_output, characters "
        "or audio_hour"]
    assert problems_of(HEAD + "prices: [{deployment: w, effective_from: 2026-01-01, audio_hour: -1}]\n") == [
        "prices[0].audio_hour: must not be negative, got -1"]
    assert problems_of(HEAD + "prices: [{deployment: w, effective_from: 2026-01-01, audio_seconds: 1}]\n")[0] \
        .startswith("prices[0].audio_seconds: unknown key")


def test_pool_weights_name_any_meter_and_old_defaults_stay():
    [pool] = parse_config(HEAD + "pools: [{deployment: p, effective_from: 2026-01-01, monthly_cost: 1, "
                                 "weights: {output: 4, audio_input: 16}}]\n").pools
    # input and cached_input left out weigh 1 (the first release's rule); other meters only when named
    assert pool.weights.as_dict() == {"input": 1, "cached_input": 1, "output": 4, "audio_input": 16}
    assert pool.weights.weight("image_input") == 0 and pool.weights.weight("audio_seconds") == 0
    assert problems_of(HEAD + "pools: [{deployment: p, effective_from: 2026-01-01, monthly_cost: 1, "
                              "weights: {audio_imput: 1}}]\n") == [
        'pools[0].weights.audio_imput: unknown key (did you mean "audio_input"?)']


def test_meter_rates_survive_the_stored_form():
    config = parse_config(DESIGN_METER_RATES)
    again = config_from_dict(config.to_dict())
    assert again == config and again.fingerprint() == config.fingerprint()
    assert config.to_dict()["prices"][2] == {"deployment": "whisper", "effective_from": "2026-01-01",
                                             "audio_hour": "0.36"}
