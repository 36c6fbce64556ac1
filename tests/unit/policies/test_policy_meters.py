"""The v2 policy's meter fields, executed: the path after the deployment, speech input characters, and a
transcription's duration as usage."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chargeback.usage.events import RawEvent, parse_event
from tests.unit.policies.harness import (
    CHAT_PATH,
    event_of,
    scenario,
)


@pytest.mark.parametrize(("full_path", "path"), [
    (CHAT_PATH, "/chat/completions"),
    ("/openai/deployments/gpt-image-1/images/generations", "/images/generations"),
    ("/openai/deployments/whisper/audio/transcriptions", "/audio/transcriptions"),
    ("/openai/v1/chat/completions", "/chat/completions"),
    ("/openai/responses", "/responses"),
    ("/openai/deployments/gpt-4o", None),
])
def test_the_path_after_the_deployment_is_sent(policy_runner, full_path, path):
    (result,) = policy_runner(scenario(request={"path": full_path}))
    assert event_of(result)["path"] == path


SPEECH_PATH = "/openai/deployments/tts-hd/audio/speech"
AUDIO = {"headers": {"Content-Type": "audio/mpeg"}, "body": "ID3\u0004binary"}


@pytest.mark.parametrize(("text", "characters"), [
    ("Hello, world.", 13),
    ("Grüße 👋", 7),        # the emoji is one character (two UTF-16 units), ü and ß one each
    ("", 0),
])
def test_text_to_speech_sends_the_input_characters_and_is_billed_by_them(policy_runner, text, characters):
    sent = {"model": "tts-hd", "input": text, "voice": "alloy"}
    (result,) = policy_runner(scenario(request={"path": SPEECH_PATH, "body": json.dumps(sent)}, response=AUDIO))
    event = event_of(result)
    assert (event["inputCharacters"], event["usage"], event["path"]) == (characters, None, "/audio/speech")
    record = parse_event(RawEvent(body=result["event"].encode("utf-8")))
    assert record.meters.characters == characters and record.metered is True


@pytest.mark.parametrize("request_change", [
    {"path": SPEECH_PATH, "body": json.dumps({"model": "tts-hd", "input": ["a", "b"]})},   # not a string
    {"path": SPEECH_PATH, "body": json.dumps({"model": "tts-hd"})},
    {"path": SPEECH_PATH, "body": "not json"},
    {"path": CHAT_PATH, "body": json.dumps({"messages": [], "input": "hello"})},          # not a speech call
])
def test_without_a_speech_input_no_characters_are_sent(policy_runner, request_change):
    (result,) = policy_runner(scenario(request=request_change, response=AUDIO))
    assert result["inputCharacters"] == -1 and event_of(result)["inputCharacters"] is None


VERBOSE = {"task": "transcribe", "language": "english", "duration": 42.5, "text": "hello",
           "segments": [{"id": 0, "start": 0.0, "end": 42.5, "text": "hello"}]}


@pytest.mark.parametrize("endpoint", ["transcriptions", "translations"])
def test_a_verbose_json_transcription_without_usage_is_billed_by_its_duration(policy_runner, endpoint):
    (result,) = policy_runner(scenario(request={"path": f"/openai/deployments/whisper/audio/{endpoint}", "body": None},
                                       response={"body": json.dumps(VERBOSE)}))
    event = event_of(result)
    assert event["usage"] == {"type": "duration", "seconds": 42.5}
    assert parse_event(RawEvent(body=result["event"].encode("utf-8"))).meters.audio_seconds == Decimal("42.5")


def test_a_transcriptions_own_usage_wins_over_its_duration(policy_runner):
    usage = {"type": "tokens", "input_tokens": 1200, "output_tokens": 300, "total_tokens": 1500,
             "input_token_details": {"audio_tokens": 1100, "text_tokens": 100}}
    (result,) = policy_runner(scenario(
        request={"path": "/openai/deployments/gpt-4o-transcribe/audio/transcriptions", "body": None},
        response={"body": json.dumps({**VERBOSE, "usage": usage})}))
    assert event_of(result)["usage"] == usage


@pytest.mark.parametrize(("request_path", "body"), [
    (CHAT_PATH, {"duration": 42.5, "choices": []}),                                     # not a transcription
    ("/openai/deployments/whisper/audio/transcriptions", {"text": "hello"}),            # json: no duration
    ("/openai/deployments/whisper/audio/transcriptions", {"text": "hi", "duration": "42.5"}),  # not a number
])
def test_a_duration_is_only_taken_from_a_transcription_that_reports_one(policy_runner, request_path, body):
    (result,) = policy_runner(scenario(request={"path": request_path, "body": None},
                                       response={"body": json.dumps(body)}))
    assert event_of(result)["usage"] is None


def test_a_plain_text_transcription_is_logged_unmetered(policy_runner):
    (result,) = policy_runner(scenario(request={"path": "/openai/deployments/whisper/audio/transcriptions",
                                                "body": None},
                                       response={"headers": {"Content-Type": "text/plain"}, "body": "hello"}))
    assert event_of(result)["usage"] is None
