"""The ``usage`` object of every Azure OpenAI response shape, normalised to meter quantities (DESIGN "Meters").

Shapes, by what they carry:
- chat, legacy completions, embeddings: ``prompt_tokens`` / ``completion_tokens`` with
  ``prompt_tokens_details`` and ``completion_tokens_details``;
- Responses API and image generation: ``input_tokens`` / ``output_tokens`` with ``input_tokens_details``
  and ``output_tokens_details``;
- realtime and transcription by tokens (``"type": "tokens"``): ``input_token_details`` (singular
  "token"), realtime with ``cached_tokens_details`` by modality, and ``output_token_details``;
- transcription by duration: ``{"type": "duration", "seconds": 42.5}``;
- text to speech: no usage; the policy measures ``inputCharacters``.

One rule for every token shape: a modality count (audio, image) includes its cached part, which only a
``cached_tokens_details`` split names (realtime reports text_tokens + audio_tokens = input_tokens, and the
openai package's RealtimeResponseUsageInputTokenDetails: cached tokens "are counted as a subset of input
tokens"); a cached count without that split is text. Cache writes are input, apart from what
was read from the cache. Everything left of a total after its named parts is text. Parts that exceed
their total are refused, so nothing is ever counted twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from chargeback.errors import InvalidEvent
from chargeback.usage.meters import MeterQuantities

Json = dict[str, Any]


class NormalisedUsage(NamedTuple):   # a tuple: built once per event, cheaper than a frozen dataclass
    meters: MeterQuantities
    metered: bool = True      # False: no usage at all (a stream whose last chunk never came)


UNMETERED = NormalisedUsage(MeterQuantities(), metered=False)
# Request paths (after the deployment) whose output tokens are image tokens when the shape does not say.
IMAGE_PATHS = ("/images/generations", "/images/edits")


def normalise_usage(usage: object, path: str = "", input_characters: int | None = None) -> NormalisedUsage:
    """Any response's ``usage`` (plus the policy's ``inputCharacters``) -> meter quantities.

    ``None`` without characters is unmetered: kept as a record, never priced, never dropped.
    """
    characters = 0 if input_characters is None else input_characters
    if usage is None:
        if input_characters is None:
            return UNMETERED
        return NormalisedUsage(MeterQuantities(characters=characters))
    if not isinstance(usage, dict):
        raise InvalidEvent(f"usage must be an object or null, got {type(usage).__name__}")
    kind = usage.get("type")
    if kind == "duration":
        return NormalisedUsage(MeterQuantities(audio_seconds=_seconds(usage), characters=characters))
    if kind not in (None, "tokens"):
        raise InvalidEvent(f"usage.type must be \"tokens\" or \"duration\", got {str(kind)[:40]!r}")
    if "prompt_tokens" in usage:
        names = _CHAT
    elif "input_tokens" in usage:
        names = _INPUT_OUTPUT
    else:
        raise InvalidEvent("usage has neither prompt_tokens nor input_tokens")
    return NormalisedUsage(_token_meters(usage, names, path, characters))


@dataclass(frozen=True, slots=True)
class _Names:
    total_in: str
    total_out: str
    details_in: tuple[str, ...]     # the details object's possible names (plural, realtime singular)
    details_out: tuple[str, ...]


_CHAT = _Names("prompt_tokens", "completion_tokens", ("prompt_tokens_details",), ("completion_tokens_details",))
_INPUT_OUTPUT = _Names("input_tokens", "output_tokens", ("input_tokens_details", "input_token_details"),
                       ("output_tokens_details", "output_token_details"))


def _token_meters(usage: Json, names: _Names, path: str, characters: int) -> MeterQuantities:
    # Counts are read inline (one per field, every event): a count that is not a plain int goes to
    # token_count, which names what is wrong with it.
    get = usage.get
    total_in = get(names.total_in)
    if total_in.__class__ is not int or total_in < 0:
        total_in = token_count(usage, names.total_in, f"usage.{names.total_in}", required=True)
    total_out = get(names.total_out)
    if total_out is None:
        total_out = 0
    elif total_out.__class__ is not int or total_out < 0:
        total_out = token_count(usage, names.total_out, f"usage.{names.total_out}")
    total = get("total_tokens")
    if total is not None and (total.__class__ is not int or total < 0):
        token_count(usage, "total_tokens", "usage.total_tokens")
    in_name, details_in = _details(usage, names.details_in)
    out_name, details_out = _details(usage, names.details_out)
    inputs = _input_parts(details_in, in_name, total_in, names.total_in) if details_in else (total_in, 0, 0, 0,
                                                                                             0, 0, 0)
    if details_out:
        text_out, audio_out, image_out, reasoning = _output_parts(details_out, out_name, total_out, names.total_out)
    else:
        text_out, audio_out, image_out, reasoning = total_out, 0, 0, 0
    if "image_tokens" not in details_out and _is_image_generation(usage, path):
        # gpt-image: every output token is an image token, but reasoning (text, inside output) stays text
        text_out, image_out = reasoning, text_out - reasoning
    input_, cached, cache_write, audio, cached_audio, image, cached_image = inputs
    return MeterQuantities(input_, cached, cache_write, audio, cached_audio, image, cached_image, text_out,
                           audio_out, image_out, _NO_SECONDS, characters, reasoning)


# Which position of ``_read``'s list each details field fills; other fields (e.g. prediction tokens) are
# inside their total and need no meter.
_INPUT_FIELDS = {"audio_tokens": 0, "image_tokens": 1, "text_tokens": 2, "cache_write_tokens": 3, "cached_tokens": 4}
_OUTPUT_FIELDS = {"audio_tokens": 0, "image_tokens": 1, "text_tokens": 2, "reasoning_tokens": 3}
_SPLIT_FIELDS = {"audio_tokens": 0, "image_tokens": 1, "text_tokens": 2}
_NO_SECONDS = Decimal(0)


def _read(details: Json, positions: dict[str, int], path: str) -> list[int]:
    """The counts of ``details`` named in ``positions`` (null or absent: 0), in one pass over what is there."""
    counts = [0] * len(positions)
    for field, value in details.items():
        index = positions.get(field)
        if index is None or value is None:
            continue
        if value.__class__ is not int or value < 0:
            token_count(details, field, f"{path}.{field}")   # raises with the reason
        counts[index] = value
    return counts


def _input_parts(details: Json, name: str, total: int, total_name: str) -> tuple[int, ...]:
    """(input, cached_input, cache_write_input, audio_input, cached_audio_input, image_input, cached_image_input)."""
    path = f"usage.{name}"
    audio, image, text, cache_write, cached = _read(details, _INPUT_FIELDS, path)
    if text + audio + image > total:
        _exceeds(f"{path} text, audio and image tokens", text + audio + image, total_name, total)
    cached_audio = cached_image = 0
    if details.get("cached_tokens_details") is not None:
        split_path = f"{path}.cached_tokens_details"
        split = _details_one(details, "cached_tokens_details", path)
        cached_audio, cached_image, cached_text = _read(split, _SPLIT_FIELDS, split_path)
        if details.get("cached_tokens") is None:
            cached = cached_text + cached_audio + cached_image    # only the split was sent
        _within(f"{split_path} tokens", cached_text + cached_audio + cached_image, "cached_tokens", cached)
        _within("cached audio tokens", cached_audio, "audio_tokens", audio)
        _within("cached image tokens", cached_image, "image_tokens", image)
    if cached > total:   # the first release's wording, kept for the common case
        raise InvalidEvent(f"cached_tokens {cached} exceed {total_name} {total}")
    named = cached + cache_write + (audio - cached_audio) + (image - cached_image)
    if named > total:
        _exceeds("cached, cache write, audio and image tokens", named, total_name, total)
    return (total - named, cached - cached_audio - cached_image, cache_write, audio - cached_audio,
            cached_audio, image - cached_image, cached_image)


def _output_parts(details: Json, name: str, total: int, total_name: str) -> tuple[int, int, int, int]:
    """(text output incl. reasoning, audio output, image output, reasoning)."""
    audio, image, text, reasoning = _read(details, _OUTPUT_FIELDS, f"usage.{name}")
    if text + audio + image > total:
        _exceeds(f"usage.{name} text, audio and image tokens", text + audio + image, total_name, total)
    text_out = total - audio - image
    if reasoning > text_out:
        raise InvalidEvent(f"reasoning_tokens {reasoning} exceed {total_name} {total}"
                           + (f" less audio and image tokens ({text_out})" if text_out != total else ""))
    return text_out, audio, image, reasoning


def _exceeds(parts: str, value: int, total_name: str, total: int) -> None:
    raise InvalidEvent(f"{parts} ({value}) exceed {total_name} {total}")


def _within(parts: str, value: int, total_name: str, total: int) -> None:
    if value > total:
        _exceeds(parts, value, total_name, total)


def _is_image_generation(usage: Json, path: str) -> bool:
    """Whether output tokens are image tokens: the path says so; without a path, gpt-image's shape (input
    details of text and image tokens, never cached_tokens, which every Responses API usage carries)."""
    if path:
        return path.lower().startswith(IMAGE_PATHS)
    details = usage.get("input_tokens_details")
    return (isinstance(details, dict) and "text_tokens" in details and "image_tokens" in details
            and "cached_tokens" not in details and usage.get("type") is None)


def _seconds(usage: Json) -> Decimal:
    """The billed duration, exact: events are read with ``parse_float=Decimal``, so 42.5 is the wire's text."""
    value = usage.get("seconds")
    if isinstance(value, float):   # a caller that parsed with floats: repr is the shortest text that round-trips
        value = Decimal(repr(value))
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or not Decimal(value).is_finite() \
            or value < 0:
        raise InvalidEvent(f"usage.seconds must be a non-negative number, got {str(value)[:40]}")
    return Decimal(value)


def _details(usage: Json, names: tuple[str, ...]) -> tuple[str, Json]:
    """The one details object present under any of ``names`` ({} when none); two at once are ambiguous."""
    details = usage.get(names[0])
    if details.__class__ is dict and (len(names) == 1 or usage.get(names[1]) is None):
        return names[0], details   # the common case, decided in one look
    name = names[0]
    if usage.get(name) is None and len(names) > 1:
        name = names[1]
    elif len(names) > 1 and usage.get(names[1]) is not None:
        raise InvalidEvent(f"usage has both {names[0]} and {names[1]}: which counts is ambiguous")
    return name, _details_one(usage, name, "usage")


def _details_one(container: Json, field: str, path: str) -> Json:
    details = container.get(field)
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise InvalidEvent(f"{path}.{field} must be an object or null, got {type(details).__name__}")
    return details


def token_count(container: Json, field: str, path: str, required: bool = False) -> int:
    """A non-negative integer token count; null or absent is 0 unless required."""
    value = container.get(field)
    if value is None:
        if required:
            raise InvalidEvent(f"{path} is missing")
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        shown = str(value) if isinstance(value, Decimal) else repr(value)
        raise InvalidEvent(f"{path} must be a non-negative integer, got {shown}"[:160])
    if value < 0:
        raise InvalidEvent(f"{path} must be a non-negative integer, got {value}")
    return value
