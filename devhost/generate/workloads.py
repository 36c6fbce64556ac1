"""Generated usage objects: what Azure OpenAI puts in a response's ``usage``, per kind of workload."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

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
    shape: str              # "chat", "embedding" or "responses"
    weight: float           # how common it is across the tenant
    prompt_median: int
    completion_median: int
    reasoning: bool = False
    stream_share: float = 0.0
    api_version: str = API_VERSION

    @property
    def seed_compatible(self) -> bool:
        """The seed's v1 policy reads ``prompt_tokens``/``completion_tokens`` of a JSON body: plain chat only."""
        return self.shape == "chat"


WORKLOADS: tuple[Workload, ...] = (
    Workload("gpt-4o", "gpt-4o-2024-08-06", "ChatCompletions_Create", "chat", 3.0, 1100, 320, stream_share=0.25),
    Workload("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "ChatCompletions_Create", "chat", 4.0, 700, 180),
    Workload("o3-mini", "o3-mini-2025-01-31", "ChatCompletions_Create", "chat", 1.0, 650, 1500, reasoning=True),
    Workload("text-embedding-3-large", "text-embedding-3-large", "embeddings_create", "embedding", 2.0, 300, 0),
    Workload("gpt-4o-ptu", "gpt-4o-2024-08-06", "ChatCompletions_Create", "chat", 2.5, 1500, 380, stream_share=0.3),
    Workload("gpt-4o", "gpt-4o-2024-08-06", "Responses_Create", "responses", 0.8, 1200, 300,
             api_version=RESPONSES_API_VERSION),
    Workload("o3-mini", "o3-mini-2025-01-31", "Responses_Create", "responses", 0.3, 700, 1300, reasoning=True,
             api_version=RESPONSES_API_VERSION),
)

PAY_AS_YOU_GO = ("gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-large")
PROVISIONED = "gpt-4o-ptu"


@dataclass(frozen=True, slots=True)
class Call:
    """One generated call: the usage object as sent (None: a stream whose usage never came) and its tokens."""

    usage: dict | None
    stream: bool
    prompt: int
    cached: int
    completion: int
    reasoning: int

    def as_logged_by_seed(self) -> Call:
        """What the seed's v1 policy keeps of it: prompt and completion counts, no details."""
        return replace(self, cached=0, reasoning=0)


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
    if workload.shape == "embedding":
        prompt = _tokens(rng, workload.prompt_median, 1, 8191)
        return Call({"prompt_tokens": prompt, "total_tokens": prompt}, False, prompt, 0, 0, 0)
    prompt = _tokens(rng, workload.prompt_median, 5, 120_000)
    completion = _tokens(rng, workload.completion_median, 1, 16_000)
    if workload.shape == "responses":
        cached, reasoning = _cached(rng, prompt), _reasoning(rng, workload, completion)
        usage = {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
                 "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
                 "total_tokens": prompt + completion}
        return Call(usage, False, prompt, cached, completion, reasoning)
    stream = allow_stream and rng.random() < workload.stream_share
    if stream and rng.random() < UNMETERED_STREAM_SHARE:
        return Call(None, True, 0, 0, 0, 0)
    if rng.random() < NULL_DETAILS_SHARE:
        # Some API versions and proxies send null details: nothing cached or reasoned is known.
        usage = {"completion_tokens": completion, "completion_tokens_details": None,
                 "prompt_tokens": prompt, "prompt_tokens_details": None, "total_tokens": prompt + completion}
        return Call(usage, stream, prompt, 0, completion, 0)
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
    return Call(usage, stream, prompt, cached, completion, reasoning)
