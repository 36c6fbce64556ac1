"""Generated usage objects: what Azure OpenAI puts in a response's ``usage``, per kind of workload."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from chargeback.usage.meters import NO_USAGE, MeterQuantities
from devhost.generate import modalities

API_VERSION = "2024-10-21"
RESPONSES_API_VERSION = "2025-04-01-preview"   # the Responses API is not in 2024-10-21 GA

CACHE_MINIMUM = 1024   # prompt caching starts at 1,024 prompt tokens ...
CACHE_STEP = 128       # ... and grows in 128-token steps
UNMETERED_STREAM_SHARE = 0.01
NULL_DETAILS_SHARE = 0.05
CACHE_HIT_SHARE = 0.35


@dataclass(frozen=True, slots=True)
class Workload:
    """One kind of call a department makes: a deployment, an API operation and its token profile."""

    deployment: str
    model: str
    operation: str
    shape: str              # "chat", "embedding", "responses", or a modality: "voice", "image",
                            # "transcription_tokens", "transcription_duration", "speech"
    weight: float           # how common it is across the tenant
    prompt_median: int
    completion_median: int
    reasoning: bool = False
    stream_share: float = 0.0
    api_version: str = API_VERSION
    path: str = "/chat/completions"   # the request path after the deployment, as the policy sends it

    @property
    def modality(self) -> bool:
        """Audio, image or speech: its tenant weights come from their own random stream (see tenants)."""
        return self.shape in MODALITY_SHAPES

    @property
    def seed_compatible(self) -> bool:
        """The seed's v1 policy reads ``prompt_tokens``/``completion_tokens`` of a JSON body: plain chat only."""
        return self.shape == "chat"


MODALITY_SHAPES = ("voice", "image", "transcription_tokens", "transcription_duration", "speech")
AUDIO_API_VERSION = "2025-01-01-preview"      # audio chat and gpt-image-1 need a recent preview

WORKLOADS: tuple[Workload, ...] = (
    Workload("gpt-4o", "gpt-4o-2024-08-06", "ChatCompletions_Create", "chat", 3.0, 1100, 320, stream_share=0.25),
    Workload("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "ChatCompletions_Create", "chat", 4.0, 700, 180),
    Workload("o3-mini", "o3-mini-2025-01-31", "ChatCompletions_Create", "chat", 1.0, 650, 1500, reasoning=True),
    Workload("text-embedding-3-large", "text-embedding-3-large", "embeddings_create", "embedding", 2.0, 300, 0,
             path="/embeddings"),
    Workload("gpt-4o-ptu", "gpt-4o-2024-08-06", "ChatCompletions_Create", "chat", 2.5, 1500, 380, stream_share=0.3),
    Workload("gpt-4o", "gpt-4o-2024-08-06", "Responses_Create", "responses", 0.8, 1200, 300,
             api_version=RESPONSES_API_VERSION, path="/responses"),
    Workload("o3-mini", "o3-mini-2025-01-31", "Responses_Create", "responses", 0.3, 700, 1300, reasoning=True,
             api_version=RESPONSES_API_VERSION, path="/responses"),
    # Beyond text, in the proportions a platform team sees: voice bots, image generation, transcription
    # by tokens and by duration, text to speech. Token medians live in modalities.py.
    Workload("gpt-4o-audio", "gpt-4o-audio-preview-2024-12-17", "ChatCompletions_Create", "voice", 1.2, 0, 0,
             api_version=AUDIO_API_VERSION),
    Workload("gpt-image-1", "gpt-image-1", "ImageGenerations_Create", "image", 0.4, 0, 0,
             api_version=AUDIO_API_VERSION, path="/images/generations"),
    Workload("gpt-4o-transcribe", "gpt-4o-transcribe", "Transcriptions_Create", "transcription_tokens", 0.5, 0, 0,
             api_version=AUDIO_API_VERSION, path="/audio/transcriptions"),
    Workload("whisper", "whisper", "Transcriptions_Create", "transcription_duration", 0.6, 0, 0,
             path="/audio/transcriptions"),
    Workload("tts-hd", "tts-hd", "Speech_Create", "speech", 0.5, 0, 0, path="/audio/speech"),
)

PAY_AS_YOU_GO = ("gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-large", "gpt-4o-audio", "gpt-image-1",
                 "gpt-4o-transcribe", "whisper", "tts-hd")
PROVISIONED = "gpt-4o-ptu"


@dataclass(frozen=True, slots=True)
class Call:
    """One generated call: the usage object as sent (None: a stream whose usage never came, or speech), the
    meters it means (what the generator drew, not re-read from the usage), and the policy's extra fields."""

    usage: dict | None
    stream: bool
    meters: MeterQuantities
    path: str = "/chat/completions"
    input_characters: int | None = None

    @property
    def prompt(self) -> int:
        return self.meters.prompt_tokens

    @property
    def cached(self) -> int:
        return self.meters.cached_tokens

    @property
    def completion(self) -> int:
        return self.meters.completion_tokens

    @property
    def reasoning(self) -> int:
        return self.meters.reasoning

    @property
    def metered(self) -> bool:
        return self.usage is not None or self.input_characters is not None

    def as_logged_by_seed(self) -> Call:
        """What the seed's v1 policy keeps of it: prompt and completion counts, no details."""
        return replace(self, meters=MeterQuantities.from_text_tokens(self.prompt, 0, self.completion))


def _text(usage: dict | None, stream: bool, prompt: int, cached: int, completion: int, reasoning: int,
          path: str = "/chat/completions") -> Call:
    meters = MeterQuantities.from_text_tokens(prompt, cached, completion, reasoning) if usage else NO_USAGE
    return Call(usage, stream, meters, path)


def _tokens(rng: random.Random, median: int, low: int, high: int) -> int:
    return min(high, max(low, int(rng.lognormvariate(math.log(median), 0.9))))


def _cached(rng: random.Random, prompt: int) -> int:
    if prompt < CACHE_MINIMUM or rng.random() >= CACHE_HIT_SHARE:
        return 0
    return CACHE_MINIMUM + CACHE_STEP * rng.randint(0, (prompt - CACHE_MINIMUM) // CACHE_STEP)


def _reasoning(rng: random.Random, workload: Workload, completion: int) -> int:
    return int(completion * rng.uniform(0.4, 0.85)) if workload.reasoning else 0


def make_call(rng: random.Random, workload: Workload, allow_stream: bool = True) -> Call:
    """A call of ``workload`` with a realistic usage object (cached inside prompt, reasoning inside completion)."""
    if workload.modality:
        return _modality_call(rng, workload)
    if workload.shape == "embedding":
        prompt = _tokens(rng, workload.prompt_median, 1, 8191)
        return _text({"prompt_tokens": prompt, "total_tokens": prompt}, False, prompt, 0, 0, 0, workload.path)
    prompt = _tokens(rng, workload.prompt_median, 5, 120_000)
    completion = _tokens(rng, workload.completion_median, 1, 16_000)
    if workload.shape == "responses":
        cached, reasoning = _cached(rng, prompt), _reasoning(rng, workload, completion)
        usage = {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
                 "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
                 "total_tokens": prompt + completion}
        return _text(usage, False, prompt, cached, completion, reasoning, workload.path)
    stream = allow_stream and rng.random() < workload.stream_share
    if stream and rng.random() < UNMETERED_STREAM_SHARE:
        return _text(None, True, 0, 0, 0, 0)
    if rng.random() < NULL_DETAILS_SHARE:
        # Some API versions and proxies send null details: nothing cached or reasoned is known.
        usage = {"completion_tokens": completion, "completion_tokens_details": None,
                 "prompt_tokens": prompt, "prompt_tokens_details": None, "total_tokens": prompt + completion}
        return _text(usage, stream, prompt, 0, completion, 0)
    cached, reasoning = _cached(rng, prompt), _reasoning(rng, workload, completion)
    if stream:
        # The final SSE chunk's usage (stream_options.include_usage) carries the prediction counters too.
        completion_details = {"accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": reasoning,
                              "rejected_prediction_tokens": 0}
        prompt_details = {"audio_tokens": 0, "cached_tokens": cached}
    else:
        completion_details = {"audio_tokens": None, "reasoning_tokens": reasoning}
        prompt_details = {"audio_tokens": None, "cached_tokens": cached}
    usage = {"completion_tokens": completion, "completion_tokens_details": completion_details,
             "prompt_tokens": prompt, "prompt_tokens_details": prompt_details, "total_tokens": prompt + completion}
    return _text(usage, stream, prompt, cached, completion, reasoning)


def _modality_call(rng: random.Random, workload: Workload) -> Call:
    if workload.shape == "voice":
        usage, meters = modalities.voice_bot(rng)
        return Call(usage, False, meters, workload.path)
    if workload.shape == "image":
        usage, meters, path = modalities.image_generation(rng)
        return Call(usage, False, meters, path)
    if workload.shape == "transcription_tokens":
        usage, meters = modalities.transcription_by_tokens(rng)
        return Call(usage, False, meters, workload.path)
    if workload.shape == "transcription_duration":
        usage, meters = modalities.transcription_by_duration(rng)
        return Call(usage, False, meters, workload.path)
    characters, meters = modalities.text_to_speech(rng)
    return Call(None, False, meters, workload.path, input_characters=characters)
