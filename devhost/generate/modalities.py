"""Generated calls beyond text: voice bots (audio in and out), image generation, transcription by tokens and
by duration, text to speech. Each returns the usage object the policy would send and the meters it means.

Proportions follow the published token rates: gpt-4o audio is about 10 tokens per second of speech, and
a gpt-image-1 1024x1024 picture costs 272 (low), 1056 (medium) or 4160 (high) output tokens.
"""
from __future__ import annotations

import math
import random
from decimal import Decimal

from chargeback.usage.meters import MeterQuantities

AUDIO_TOKENS_PER_SECOND = 10
IMAGE_OUTPUT_TOKENS = (272, 1056, 4160)      # low, medium, high quality at 1024x1024
IMAGE_QUALITY_WEIGHTS = (0.3, 0.5, 0.2)
IMAGE_EDIT_SHARE = 0.3                         # /images/edits: the prompt carries an input image
CACHED_AUDIO_SHARE = 0.3                       # voice bots resend the conversation: some of it is cached


def _lognormal(rng: random.Random, median: float, low: float, high: float) -> float:
    return min(high, max(low, rng.lognormvariate(math.log(median), 0.8)))


def voice_bot(rng: random.Random) -> tuple[dict, MeterQuantities]:
    """gpt-4o-audio chat: spoken question in, spoken answer out, a text system prompt, sometimes cached."""
    text_in = int(_lognormal(rng, 350, 20, 8000))
    audio_in = int(_lognormal(rng, 12, 1, 600) * AUDIO_TOKENS_PER_SECOND)
    cached = 0
    if text_in >= 1024 and rng.random() < CACHED_AUDIO_SHARE:
        cached = 1024 + 128 * rng.randint(0, (text_in - 1024) // 128)   # text only: chat has no modality split
    audio_out = int(_lognormal(rng, 20, 1, 600) * AUDIO_TOKENS_PER_SECOND)
    text_out = int(_lognormal(rng, 40, 1, 800))      # the transcript of the spoken answer
    prompt, completion = text_in + audio_in, text_out + audio_out
    usage = {"completion_tokens": completion,
             "completion_tokens_details": {"audio_tokens": audio_out, "reasoning_tokens": 0,
                                           "text_tokens": text_out},
             "prompt_tokens": prompt,
             "prompt_tokens_details": {"audio_tokens": audio_in, "cached_tokens": cached, "text_tokens": text_in},
             "total_tokens": prompt + completion}
    meters = MeterQuantities(input=text_in - cached, cached_input=cached, audio_input=audio_in,
                             output=text_out, audio_output=audio_out)
    return usage, meters


def image_generation(rng: random.Random) -> tuple[dict, MeterQuantities, str]:
    """gpt-image-1: a text prompt (plus an input image for an edit), image tokens out; the path says which."""
    text_in = int(_lognormal(rng, 60, 5, 2000))
    editing = rng.random() < IMAGE_EDIT_SHARE
    image_in = rng.choice((323, 765, 1105)) if editing else 0
    image_out = rng.choices(IMAGE_OUTPUT_TOKENS, weights=IMAGE_QUALITY_WEIGHTS)[0]
    usage = {"input_tokens": text_in + image_in, "input_tokens_details": {"image_tokens": image_in,
                                                                          "text_tokens": text_in},
             "output_tokens": image_out, "total_tokens": text_in + image_in + image_out}
    path = "/images/edits" if editing else "/images/generations"
    return usage, MeterQuantities(input=text_in, image_input=image_in, image_output=image_out), path


def transcription_by_tokens(rng: random.Random) -> tuple[dict, MeterQuantities]:
    """gpt-4o-transcribe: audio (and an optional text prompt) in, the transcript out."""
    seconds = _lognormal(rng, 45, 1, 1500)
    audio_in = int(seconds * AUDIO_TOKENS_PER_SECOND)
    text_in = rng.choice((0, 0, 0, int(_lognormal(rng, 30, 1, 200))))
    text_out = max(1, int(seconds * 2.5))
    usage = {"type": "tokens", "input_tokens": audio_in + text_in,
             "input_token_details": {"audio_tokens": audio_in, "text_tokens": text_in},
             "output_tokens": text_out, "total_tokens": audio_in + text_in + text_out}
    return usage, MeterQuantities(input=text_in, audio_input=audio_in, output=text_out)


def transcription_by_duration(rng: random.Random) -> tuple[dict, MeterQuantities]:
    """whisper (verbose_json): the policy sends the response's duration as ``{"type": "duration"}`` usage."""
    seconds = Decimal(f"{_lognormal(rng, 60, 0.5, 1500):.2f}")
    return {"type": "duration", "seconds": float(seconds)}, MeterQuantities(audio_seconds=seconds)


def text_to_speech(rng: random.Random) -> tuple[int, MeterQuantities]:
    """tts-hd: no usage in the response; the policy counts the request's input characters."""
    characters = int(_lognormal(rng, 400, 1, 4096))   # the API takes at most 4096 characters
    return characters, MeterQuantities(characters=characters)
