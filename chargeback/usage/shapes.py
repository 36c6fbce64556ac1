"""The ``usage`` object of every Azure OpenAI response shape, normalised to four token counts."""
from __future__ import annotations

from dataclasses import dataclass

from chargeback.errors import InvalidEvent


@dataclass(frozen=True, slots=True)
class NormalisedUsage:
    prompt_tokens: int = 0       # includes cached_tokens
    cached_tokens: int = 0
    completion_tokens: int = 0   # includes reasoning_tokens
    reasoning_tokens: int = 0
    metered: bool = True


UNMETERED = NormalisedUsage(metered=False)

# (prompt field, completion field, prompt details, completion details) per API family.
_CHAT = ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
_RESPONSES = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")


def normalise_usage(usage: object) -> NormalisedUsage:
    """Chat, legacy completions, embeddings or Responses API usage -> NormalisedUsage.

    ``None`` (a stream whose final chunk never came, or a response without usage) is unmetered.
    """
    if usage is None:
        return UNMETERED
    if not isinstance(usage, dict):
        raise InvalidEvent(f"usage must be an object or null, got {type(usage).__name__}")
    if "input_tokens" in usage:
        fields = _RESPONSES
    elif "prompt_tokens" in usage:
        fields = _CHAT
    else:
        raise InvalidEvent("usage has neither prompt_tokens nor input_tokens")
    prompt_field, completion_field, prompt_details, completion_details = fields
    prompt = token_count(usage, prompt_field, f"usage.{prompt_field}", required=True)
    completion = token_count(usage, completion_field, f"usage.{completion_field}")
    cached = token_count(_details(usage, prompt_details), "cached_tokens",
                         f"usage.{prompt_details}.cached_tokens")
    reasoning = token_count(_details(usage, completion_details), "reasoning_tokens",
                            f"usage.{completion_details}.reasoning_tokens")
    token_count(usage, "total_tokens", "usage.total_tokens")
    if cached > prompt:
        raise InvalidEvent(f"cached_tokens {cached} exceed {prompt_field} {prompt}")
    if reasoning > completion:
        raise InvalidEvent(f"reasoning_tokens {reasoning} exceed {completion_field} {completion}")
    return NormalisedUsage(prompt, cached, completion, reasoning)


def _details(usage: dict, field: str) -> dict:
    details = usage.get(field)
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise InvalidEvent(f"usage.{field} must be an object or null, got {type(details).__name__}")
    return details


def token_count(container: dict, field: str, path: str, required: bool = False) -> int:
    """A non-negative integer token count; null or absent is 0 unless required."""
    value = container.get(field)
    if value is None:
        if required:
            raise InvalidEvent(f"{path} is missing")
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(f"{path} must be a non-negative integer, got {value!r}"[:160])
    if value < 0:
        raise InvalidEvent(f"{path} must be a non-negative integer, got {value}")
    return value
