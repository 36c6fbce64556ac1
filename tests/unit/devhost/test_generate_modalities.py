"""The generator's audio, image and speech calls (issue 12), read with json only: shapes, proportions, the
meters it expects, the config's prices, and v1 months untouched."""
from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from decimal import Decimal

from tests.unit.devhost.generated import (
    MODALITY_DEPLOYMENTS,
    classify_v2,
    good_events,
    load_config,
)


def test_modalities_come_in_realistic_proportions(v2):
    calls = Counter(e["deploymentId"] for e in good_events(v2, classify_v2))
    share = sum(calls[d] for d in MODALITY_DEPLOYMENTS) / sum(calls.values())
    assert 0.10 <= share <= 0.35, share        # text still dominates; every modality is present
    assert min(calls[d] for d in MODALITY_DEPLOYMENTS) >= 100
    assert calls["gpt-4o-audio"] > calls["gpt-image-1"]   # voice bots are the biggest non-text workload


def test_modality_usage_objects_have_the_shapes_azure_sends(v2):
    for event in good_events(v2, classify_v2):
        usage, deployment = event["usage"], event["deploymentId"]
        if deployment == "gpt-4o-audio":
            prompt, completion = usage["prompt_tokens_details"], usage["completion_tokens_details"]
            assert prompt["audio_tokens"] > 0 and completion["audio_tokens"] > 0
            assert prompt["audio_tokens"] + prompt["text_tokens"] == usage["prompt_tokens"]
            assert completion["audio_tokens"] + completion["text_tokens"] == usage["completion_tokens"]
            assert prompt["cached_tokens"] <= prompt["text_tokens"]
        elif deployment == "gpt-image-1":
            details = usage["input_tokens_details"]
            assert details["text_tokens"] + details["image_tokens"] == usage["input_tokens"]
            assert usage["output_tokens"] in (272, 1056, 4160)
            assert (details["image_tokens"] > 0) == (event["path"] == "/images/edits")
        elif deployment == "gpt-4o-transcribe":
            details = usage["input_token_details"]
            assert usage["type"] == "tokens" and details["audio_tokens"] > 0
            assert details["audio_tokens"] + details["text_tokens"] == usage["input_tokens"]
        elif deployment == "whisper":
            assert set(usage) == {"type", "seconds"} and usage["type"] == "duration"
            assert 0 < usage["seconds"] <= 1500 and round(usage["seconds"], 2) == usage["seconds"]
        elif deployment == "tts-hd":
            assert usage is None and 1 <= event["inputCharacters"] <= 4096 and event["path"] == "/audio/speech"


def test_expected_meters_match_the_modality_lines_read_with_json_only(v2):
    sums = Counter()
    for event in good_events(v2, classify_v2):
        usage, deployment = event["usage"], event["deploymentId"]
        if deployment == "gpt-4o-audio":
            sums["voice audio in"] += usage["prompt_tokens_details"]["audio_tokens"]
            sums["voice audio out"] += usage["completion_tokens_details"]["audio_tokens"]
        elif deployment == "gpt-image-1":
            sums["image out"] += usage["output_tokens"]
            sums["image in"] += usage["input_tokens_details"]["image_tokens"]
        elif deployment == "whisper":
            sums["seconds"] += Decimal(str(usage["seconds"]))
        elif deployment == "tts-hd":
            sums["characters"] += event["inputCharacters"]
    by = v2.expected.by_deployment
    assert (by["gpt-4o-audio"].meters.audio_input, by["gpt-4o-audio"].meters.audio_output) == (
        sums["voice audio in"], sums["voice audio out"])
    assert (by["gpt-image-1"].meters.image_output, by["gpt-image-1"].meters.image_input) == (
        sums["image out"], sums["image in"])
    assert by["whisper"].meters.audio_seconds == sums["seconds"]
    assert by["tts-hd"].meters.characters == sums["characters"]


def test_the_config_prices_every_new_meter_as_design_md_writes_it(v2):
    prices = {p["deployment"]: {k: v for k, v in p.items() if k not in ("deployment", "effective_from")}
              for p in load_config(v2)["prices"] if p["effective_from"] == date(2026, 1, 1)}
    # DESIGN.md, "Meter rates", typed from the document:
    assert prices["gpt-4o-audio"] == {"unit": "1M", "input": 2.50, "cached_input": 1.25, "output": 10.00,
                                      "audio_input": 40.00, "cached_audio_input": 2.50, "audio_output": 80.00}
    assert prices["gpt-image-1"] == {"unit": "1M", "input": 5.00, "image_input": 10.00, "cached_image_input": 2.50,
                                     "image_output": 40.00}
    assert prices["whisper"] == {"audio_hour": 0.36}
    assert prices["tts-hd"] == {"unit": "1M", "characters": 30.00}


def test_a_v1_month_is_what_it_was_before_modalities(v1):
    """v1 months carry only the seed's text calls: the lines are byte for byte those of the generator before
    audio, image and speech were added (sha256 of the joined lines, taken from commit f2c3d68)."""
    digest = hashlib.sha256("\n".join(v1.lines).encode()).hexdigest()
    assert digest == "98ae743e704c09ed00ca0fac0b302de1fbd7e52bb49cb9187d82ce2a9e3aa256"
