"""Meter quantities: what one call (or a group of calls) used, per Azure billing meter (DESIGN.md "Meters").

One value type for every place that carries usage (records, aggregates, invoice lines), so a new
meter is added here once, not as a field in eight classes.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The names live in a leaf (config reads them too); imported here for the quantities and their callers.
from chargeback.meter_names import CACHED_METERS, INPUT_METERS, METERS, OUTPUT_METERS, TOKEN_METERS

__all__ = ["CACHED_METERS", "FIELDS", "INPUT_METERS", "METERS", "NO_USAGE", "OUTPUT_METERS", "TOKEN_METERS",
           "MeterQuantities", "TokenViews"]

# Every field, in declaration order: the meters, then ``reasoning`` (reported, not billed).
FIELDS = (*METERS, "reasoning")
_NO_SECONDS = Decimal(0)
_AUDIO_SECONDS_AT = FIELDS.index("audio_seconds")


@dataclass(frozen=True, slots=True, init=False)
class MeterQuantities:
    """Quantity per meter; tokens and characters are ``int``, ``audio_seconds`` an exact ``Decimal``.

    ``reasoning`` is reported, never billed on its own: it is inside ``output``.
    """

    input: int = 0
    cached_input: int = 0
    cache_write_input: int = 0
    audio_input: int = 0
    cached_audio_input: int = 0
    image_input: int = 0
    cached_image_input: int = 0
    output: int = 0
    audio_output: int = 0
    image_output: int = 0
    audio_seconds: Decimal = Decimal(0)
    characters: int = 0
    reasoning: int = 0

    def __init__(self, input: int = 0, cached_input: int = 0, cache_write_input: int = 0, audio_input: int = 0,
                 cached_audio_input: int = 0, image_input: int = 0, cached_image_input: int = 0, output: int = 0,
                 audio_output: int = 0, image_output: int = 0, audio_seconds: Decimal = _NO_SECONDS,
                 characters: int = 0, reasoning: int = 0) -> None:
        # What dataclass would generate, through the slots' own setters (one of these per event parsed).
        _set_input(self, input)
        _set_cached_input(self, cached_input)
        _set_cache_write_input(self, cache_write_input)
        _set_audio_input(self, audio_input)
        _set_cached_audio_input(self, cached_audio_input)
        _set_image_input(self, image_input)
        _set_cached_image_input(self, cached_image_input)
        _set_output(self, output)
        _set_audio_output(self, audio_output)
        _set_image_output(self, image_output)
        _set_audio_seconds(self, audio_seconds)
        _set_characters(self, characters)
        _set_reasoning(self, reasoning)

    def __add__(self, other: MeterQuantities) -> MeterQuantities:
        # Field by field, positionally (FIELDS order): a dict of names per addition was most of pricing's cost.
        return MeterQuantities(
            self.input + other.input, self.cached_input + other.cached_input,
            self.cache_write_input + other.cache_write_input, self.audio_input + other.audio_input,
            self.cached_audio_input + other.cached_audio_input, self.image_input + other.image_input,
            self.cached_image_input + other.cached_image_input, self.output + other.output,
            self.audio_output + other.audio_output, self.image_output + other.image_output,
            self.audio_seconds + other.audio_seconds, self.characters + other.characters,
            self.reasoning + other.reasoning)

    def values(self) -> tuple[int | Decimal, ...]:
        """Every field's quantity in ``FIELDS`` order (what aggregation sums without building objects)."""
        return (self.input, self.cached_input, self.cache_write_input, self.audio_input,
                self.cached_audio_input, self.image_input, self.cached_image_input, self.output,
                self.audio_output, self.image_output, self.audio_seconds, self.characters, self.reasoning)

    @classmethod
    def from_values(cls, values: tuple[int | Decimal, ...] | list[int | Decimal]) -> MeterQuantities:
        """Inverse of ``values`` (``audio_seconds`` made a ``Decimal`` whatever it was summed as)."""
        if len(values) != len(FIELDS):
            raise ValueError(f"expected {len(FIELDS)} quantities, got {len(values)}")
        quantities = list(values)
        quantities[_AUDIO_SECONDS_AT] = Decimal(quantities[_AUDIO_SECONDS_AT])
        return cls(*quantities)  # type: ignore[arg-type]  # positional, in FIELDS order

    def quantity(self, meter: str) -> int | Decimal:
        """The quantity of one meter by name (``KeyError`` for a name that is not a meter)."""
        if meter not in METERS:
            raise KeyError(meter)
        value: int | Decimal = getattr(self, meter)
        return value

    def used(self) -> dict[str, int | Decimal]:
        """The meters with a non-zero quantity, in ``METERS`` order (what an invoice line shows)."""
        return {m: q for m in METERS if (q := getattr(self, m))}

    @property
    def prompt_tokens(self) -> int:
        """All input tokens (text, cached, cache writes, audio, image): the response's prompt/input total."""
        return (self.input + self.cached_input + self.cache_write_input + self.audio_input  # INPUT_METERS
                + self.cached_audio_input + self.image_input + self.cached_image_input)

    @property
    def completion_tokens(self) -> int:
        """All output tokens (text incl. reasoning, audio, image): the response's completion/output total."""
        return self.output + self.audio_output + self.image_output   # OUTPUT_METERS

    @property
    def cached_tokens(self) -> int:
        """All cached input tokens (text, audio, image): what a response's ``cached_tokens`` counts."""
        return self.cached_input + self.cached_audio_input + self.cached_image_input

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        """Non-zero quantities, JSON-ready (``audio_seconds`` as text, exact)."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            if value:
                out[name] = str(value) if isinstance(value, Decimal) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeterQuantities:
        """Inverse of ``to_dict``; absent meters are 0."""
        values: dict[str, Any] = {}
        for name in FIELDS:
            if name in data:
                values[name] = Decimal(data[name]) if name == "audio_seconds" else int(data[name])
        return cls(**values)

    @classmethod
    def from_text_tokens(cls, prompt: int, cached: int, completion: int, reasoning: int = 0) -> MeterQuantities:
        """A text-only call as the first release stored it (cached inside prompt, reasoning inside completion)."""
        return cls(input=prompt - cached, cached_input=cached, output=completion, reasoning=reasoning)


(_set_input, _set_cached_input, _set_cache_write_input, _set_audio_input, _set_cached_audio_input, _set_image_input,
 _set_cached_image_input, _set_output, _set_audio_output, _set_image_output, _set_audio_seconds, _set_characters,
 _set_reasoning) = (getattr(MeterQuantities, name).__set__ for name in FIELDS)
NO_USAGE = MeterQuantities()


class TokenViews:
    """The first release's token counts as read-only views of ``meters``, for a class that carries them
    (a record, a group's totals): cached inside prompt, reasoning inside completion, every modality counted."""

    __slots__ = ()
    meters: MeterQuantities

    @property
    def prompt_tokens(self) -> int:
        """All input tokens (text, cached, audio, image)."""
        return self.meters.prompt_tokens

    @property
    def cached_tokens(self) -> int:
        """All cached input tokens (text, audio, image), inside ``prompt_tokens``."""
        return self.meters.cached_tokens

    @property
    def completion_tokens(self) -> int:
        """All output tokens (text incl. reasoning, audio, image)."""
        return self.meters.completion_tokens

    @property
    def reasoning_tokens(self) -> int:
        return self.meters.reasoning

    @property
    def uncached_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
