"""Meters from usage objects built with the official ``openai`` package's own types, in every variant its
serialiser produces (full, exclude_none, exclude_unset), sent through a v2 event as JSON like the policy does.

Expected meters are worked out by hand in the comments (DESIGN "Meters": each part inside its total once).
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from openai.types import CompletionUsage, CreateEmbeddingResponse, ImagesResponse
from openai.types.audio.transcription import Transcription, UsageDuration, UsageTokens, UsageTokensInputTokenDetails
from openai.types.audio.transcription_verbose import TranscriptionVerbose
from openai.types.audio.transcription_verbose import Usage as VerboseUsage
from openai.types.chat import ChatCompletion
from openai.types.completion import Completion
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.create_embedding_response import Usage as EmbeddingUsage
from openai.types.image_gen_completed_event import ImageGenCompletedEvent
from openai.types.image_gen_completed_event import Usage as ImageGenEventUsage
from openai.types.image_gen_completed_event import UsageInputTokensDetails as ImageGenEventInputDetails
from openai.types.images_response import Usage as ImagesUsage
from openai.types.images_response import UsageInputTokensDetails, UsageOutputTokensDetails
from openai.types.realtime.realtime_response_usage import RealtimeResponseUsage
from openai.types.realtime.realtime_response_usage_input_token_details import (
    CachedTokensDetails,
    RealtimeResponseUsageInputTokenDetails,
)
from openai.types.realtime.realtime_response_usage_output_token_details import RealtimeResponseUsageOutputTokenDetails
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails, ResponseUsage

from chargeback.errors import InvalidEvent
from chargeback.usage.events import RawEvent, parse_event
from chargeback.usage.meters import MeterQuantities

VARIANTS = {"full": {}, "exclude_none": {"exclude_none": True}, "exclude_unset": {"exclude_unset": True}}


def event(usage: object, path: str | None = None, **extra: object) -> bytes:
    body = {"schemaVersion": 2, "requestId": "req-1", "timestamp": "2026-10-03T14:05:09.123Z",
            "subscriptionId": "sub-1", "deploymentId": "d", "usage": usage, **extra}
    if path is not None:
        body["path"] = path
    return json.dumps(body).encode()


def usage_of(response: object, variant: str) -> object:
    """The response's ``usage`` as its serialiser writes it (JSON-ready), or the usage object itself."""
    dumped = response.model_dump(mode="json", **VARIANTS[variant])   # type: ignore[attr-defined]
    return dumped.get("usage", dumped) if "usage" in type(response).model_fields else dumped


def chat(usage: CompletionUsage) -> ChatCompletion:
    return ChatCompletion(id="c", created=0, model="gpt-4o-audio", object="chat.completion", choices=[], usage=usage)


CASES = {
    # The example: 800 of 1,000 prompt tokens and 500 of 600 completion tokens were audio.
    # input = 1000 - 800 = 200; output = 600 - 500 = 100.
    "chat with audio in and out": (
        chat(CompletionUsage(prompt_tokens=1000, completion_tokens=600, total_tokens=1600,
                             prompt_tokens_details=PromptTokensDetails(audio_tokens=800, cached_tokens=0),
                             completion_tokens_details=CompletionTokensDetails(audio_tokens=500, reasoning_tokens=0))),
        None, MeterQuantities(input=200, audio_input=800, output=100, audio_output=500)),
    # 5000 prompt = 3000 cached (text: no modality split) + 500 cache writes + 1200 image + 300 text;
    # 900 completion, 640 of them reasoning (inside output, reported apart).
    "chat with cache reads, cache writes, images and reasoning": (
        chat(CompletionUsage(prompt_tokens=5000, completion_tokens=900, total_tokens=5900,
                             prompt_tokens_details=PromptTokensDetails(cached_tokens=3000, cache_write_tokens=500,
                                                                       image_tokens=1200, audio_tokens=None),
                             completion_tokens_details=CompletionTokensDetails(reasoning_tokens=640,
                                                                               accepted_prediction_tokens=0,
                                                                               rejected_prediction_tokens=12))),
        None, MeterQuantities(input=300, cached_input=3000, cache_write_input=500, image_input=1200, output=900,
                              reasoning=640)),
    # text_tokens name the text part; they are not added to anything: 84 - 0 = 84 text in, 68 out.
    "chat whose details name text tokens": (
        chat(CompletionUsage(prompt_tokens=84, completion_tokens=68, total_tokens=152,
                             prompt_tokens_details=PromptTokensDetails(text_tokens=84, audio_tokens=0, cached_tokens=0),
                             completion_tokens_details=CompletionTokensDetails(text_tokens=68, audio_tokens=0))),
        None, MeterQuantities(input=84, output=68)),
    "legacy completion": (
        Completion(id="x", created=0, model="davinci-002", object="text_completion", choices=[],
                   usage=CompletionUsage(prompt_tokens=6, completion_tokens=20, total_tokens=26)),
        None, MeterQuantities(input=6, output=20)),
    "embeddings": (
        CreateEmbeddingResponse(data=[], model="text-embedding-3-large", object="list",
                                usage=EmbeddingUsage(prompt_tokens=8, total_tokens=8)),
        None, MeterQuantities(input=8)),
    # 1300 input = 1152 cached + 100 cache writes + 48 text; 120 output, 64 of them reasoning.
    "Responses API": (
        ResponseUsage(input_tokens=1300, output_tokens=120, total_tokens=1420,
                      input_tokens_details=InputTokensDetails(cached_tokens=1152, cache_write_tokens=100),
                      output_tokens_details=OutputTokensDetails(reasoning_tokens=64)),
        "/responses", MeterQuantities(input=48, cached_input=1152, cache_write_input=100, output=120, reasoning=64)),
    # 1000 input = text 200 + audio 760 + image 40; cached 576 = text 128 + audio 448 (+ image 0).
    # cached_input 128, text input 200 - 128 = 72; cached audio 448, audio input 760 - 448 = 312; image 40.
    # 550 output = text 50 + audio 500.
    "realtime with cached tokens by modality": (
        RealtimeResponseUsage(
            input_tokens=1000, output_tokens=550, total_tokens=1550,
            input_token_details=RealtimeResponseUsageInputTokenDetails(
                text_tokens=200, audio_tokens=760, image_tokens=40, cached_tokens=576,
                cached_tokens_details=CachedTokensDetails(text_tokens=128, audio_tokens=448, image_tokens=0)),
            output_token_details=RealtimeResponseUsageOutputTokenDetails(text_tokens=50, audio_tokens=500)),
        "/realtime", MeterQuantities(input=72, cached_input=128, audio_input=312, cached_audio_input=448,
                                     image_input=40, output=50, audio_output=500)),
    # 500 input = text 100 + image 400; cached 320 = text 64 + image 256.
    # text: 64 cached, 100 - 64 = 36 uncached; image: 256 cached, 400 - 256 = 144 uncached.
    "realtime with cached image tokens": (
        RealtimeResponseUsage(
            input_tokens=500, output_tokens=7, total_tokens=507,
            input_token_details=RealtimeResponseUsageInputTokenDetails(
                text_tokens=100, image_tokens=400, cached_tokens=320,
                cached_tokens_details=CachedTokensDetails(text_tokens=64, image_tokens=256)),
            output_token_details=RealtimeResponseUsageOutputTokenDetails(text_tokens=7)),
        None, MeterQuantities(input=36, cached_input=64, image_input=144, cached_image_input=256, output=7)),
    # Without the split the 300 cached tokens are text: text input 400 - 300 = 100 (audio 600 stays audio).
    "realtime with cached tokens but no split": (
        RealtimeResponseUsage(
            input_tokens=1000, output_tokens=10, total_tokens=1010,
            input_token_details=RealtimeResponseUsageInputTokenDetails(text_tokens=400, audio_tokens=600,
                                                                       cached_tokens=300),
            output_token_details=RealtimeResponseUsageOutputTokenDetails(text_tokens=10, audio_tokens=0)),
        None, MeterQuantities(input=100, cached_input=300, audio_input=600, output=10)),
    # gpt-image-1: 300 input = 50 text + 250 image; all 4160 output tokens are image tokens.
    "image generation": (
        ImagesResponse(created=0, usage=ImagesUsage(
            input_tokens=300, output_tokens=4160, total_tokens=4460,
            input_tokens_details=UsageInputTokensDetails(text_tokens=50, image_tokens=250))),
        "/images/generations", MeterQuantities(input=50, image_input=250, image_output=4160)),
    "image generation with output details": (
        ImagesResponse(created=0, usage=ImagesUsage(
            input_tokens=300, output_tokens=4200, total_tokens=4500,
            input_tokens_details=UsageInputTokensDetails(text_tokens=50, image_tokens=250),
            output_tokens_details=UsageOutputTokensDetails(image_tokens=4160, text_tokens=40))),
        "/images/edits", MeterQuantities(input=50, image_input=250, image_output=4160, output=40)),
    "image generation without a path (an older policy)": (
        ImagesResponse(created=0, usage=ImagesUsage(
            input_tokens=20, output_tokens=1056, total_tokens=1076,
            input_tokens_details=UsageInputTokensDetails(text_tokens=20, image_tokens=0))),
        None, MeterQuantities(input=20, image_output=1056)),
    "image generation, streamed (the completed event)": (
        ImageGenCompletedEvent(b64_json="", background="auto", created_at=0, output_format="png", quality="low",
                               size="1024x1024", type="image_generation.completed", usage=ImageGenEventUsage(
                                   input_tokens=30, output_tokens=272, total_tokens=302,
                                   input_tokens_details=ImageGenEventInputDetails(text_tokens=30, image_tokens=0))),
        "/images/generations", MeterQuantities(input=30, image_output=272)),
    # gpt-4o-transcribe: 1200 input = 1100 audio + 100 text (the prompt); 300 text out.
    "transcription by tokens": (
        Transcription(text="hello", usage=UsageTokens(
            type="tokens", input_tokens=1200, output_tokens=300, total_tokens=1500,
            input_token_details=UsageTokensInputTokenDetails(audio_tokens=1100, text_tokens=100))),
        "/audio/transcriptions", MeterQuantities(input=100, audio_input=1100, output=300)),
    "transcription by duration": (
        Transcription(text="hello", usage=UsageDuration(type="duration", seconds=42.5)),
        "/audio/transcriptions", MeterQuantities(audio_seconds=Decimal("42.5"))),
    "translation by duration (verbose_json)": (
        TranscriptionVerbose(text="hello", language="english", duration=7.25,
                             usage=VerboseUsage(type="duration", seconds=7.25)),
        "/audio/translations", MeterQuantities(audio_seconds=Decimal("7.25"))),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", CASES)
def test_openai_usage_objects_become_the_hand_worked_meters(name, variant):
    response, path, expected = CASES[name]
    record = parse_event(RawEvent(event(usage_of(response, variant), path)))
    assert record.meters == expected
    assert record.metered is True and record.path == (path or "")


@pytest.mark.parametrize("variant", VARIANTS)
def test_meters_add_back_to_the_response_totals(variant):
    for name, (response, path, _) in CASES.items():
        usage = usage_of(response, variant)
        meters = parse_event(RawEvent(event(usage, path))).meters
        assert isinstance(usage, dict)
        if usage.get("type") == "duration":
            continue
        prompt, completion = (("prompt_tokens", "completion_tokens") if "prompt_tokens" in usage
                              else ("input_tokens", "output_tokens"))
        assert meters.prompt_tokens == usage[prompt], name
        assert meters.completion_tokens == (usage.get(completion) or 0), name


def test_text_to_speech_is_metered_by_the_policys_input_characters():
    record = parse_event(RawEvent(event(None, "/audio/speech", inputCharacters=1234)))
    assert record.meters == MeterQuantities(characters=1234) and record.metered is True


def test_a_duration_keeps_the_wire_decimal_exactly():
    body = (b'{"schemaVersion": 2, "requestId": "r", "timestamp": "2026-10-03T14:05:09Z", "subscriptionId": "s",'
            b' "usage": {"type": "duration", "seconds": 12345.678901234567891}}')
    assert parse_event(RawEvent(body)).meters.audio_seconds == Decimal("12345.678901234567891")


@pytest.mark.parametrize(("usage", "reason"), [
    # chat: audio 900 + cached 200 of a 1000-token prompt: 1100 parts in 1000
    ({"prompt_tokens": 1000, "completion_tokens": 1,
      "prompt_tokens_details": {"audio_tokens": 900, "cached_tokens": 200}},
     "cached, cache write, audio and image tokens (1100) exceed prompt_tokens 1000"),
    ({"prompt_tokens": 10, "completion_tokens": 600, "completion_tokens_details": {"audio_tokens": 601}},
     "usage.completion_tokens_details text, audio and image tokens (601) exceed completion_tokens 600"),
    ({"prompt_tokens": 10, "completion_tokens": 600,
      "completion_tokens_details": {"audio_tokens": 500, "reasoning_tokens": 101}},
     "reasoning_tokens 101 exceed completion_tokens 600 less audio and image tokens (100)"),
    ({"input_tokens": 100, "output_tokens": 0, "input_token_details": {
        "audio_tokens": 50, "cached_tokens": 60, "cached_tokens_details": {"audio_tokens": 60}}},
     "cached audio tokens (60) exceed audio_tokens 50"),
    ({"input_tokens": 100, "output_tokens": 0, "input_token_details": {
        "cached_tokens": 10, "cached_tokens_details": {"text_tokens": 8, "audio_tokens": 8}}},
     "cached_tokens_details tokens (16) exceed cached_tokens 10"),
    ({"input_tokens": 10, "output_tokens": 0, "input_tokens_details": {"cached_tokens": 1},
      "input_token_details": {"cached_tokens": 1}},
     "usage has both input_tokens_details and input_token_details"),
    ({"type": "duration", "seconds": -1}, "usage.seconds must be a non-negative number"),
    ({"type": "duration", "seconds": "42"}, "usage.seconds must be a non-negative number"),
    ({"type": "duration"}, "usage.seconds must be a non-negative number"),
    ({"type": "characters", "characters": 5}, 'usage.type must be "tokens" or "duration"'),
    ({"input_tokens": 10, "input_tokens_details": {"image_tokens": 1.5}},
     "usage.input_tokens_details.image_tokens must be a non-negative integer, got 1.5"),
])
def test_parts_beyond_their_total_and_bad_counts_are_dead_lettered_with_the_reason(usage, reason):
    with pytest.raises(InvalidEvent) as refused:
        parse_event(RawEvent(event(usage)))
    assert reason in str(refused.value)


def test_bad_input_characters_are_refused():
    for bad in (-1, "12", 1.5, True):
        with pytest.raises(InvalidEvent, match="inputCharacters must be a non-negative integer"):
            parse_event(RawEvent(event(None, "/audio/speech", inputCharacters=bad)))
