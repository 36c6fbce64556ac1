"""Property: whatever the shape and counts, meters add back to the shape's totals, no meter is negative,
and each modality's meters add back to that modality's count; or the usage is refused with a reason."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.errors import InvalidEvent
from chargeback.usage.shapes import normalise_usage

counts = st.integers(0, 5000)
maybe = st.one_of(st.none(), counts)          # null, a count, or (below) left out


def drop_absent(details: dict) -> dict:
    return {k: v for k, v in details.items() if v != "absent"}


def optional(value):
    return st.one_of(st.just("absent"), st.just(None), st.just(value))


@st.composite
def token_usage(draw):
    family = draw(st.sampled_from(["chat", "responses", "realtime", "transcription", "images"]))
    names = {"chat": ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"),
             "responses": ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"),
             "images": ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"),
             "realtime": ("input_tokens", "output_tokens", "input_token_details", "output_token_details"),
             "transcription": ("input_tokens", "output_tokens", "input_token_details", "output_token_details")}[family]
    total_in, total_out, details_in, details_out = names
    usage: dict = {total_in: draw(counts), total_out: draw(counts), "total_tokens": draw(maybe)}
    if family == "transcription":
        usage["type"] = "tokens"
    cached_split = drop_absent({k: draw(optional(draw(counts))) for k in ("text_tokens", "audio_tokens",
                                                                          "image_tokens")})
    inner = drop_absent({
        "cached_tokens": draw(optional(draw(counts))), "audio_tokens": draw(optional(draw(counts))),
        "image_tokens": draw(optional(draw(counts))), "text_tokens": draw(optional(draw(counts))),
        "cache_write_tokens": draw(optional(draw(counts))),
        "cached_tokens_details": draw(st.sampled_from(["absent", None, cached_split])),
    })
    outer = drop_absent({k: draw(optional(draw(counts))) for k in ("audio_tokens", "image_tokens", "text_tokens",
                                                                    "reasoning_tokens")})
    usage[details_in] = draw(st.sampled_from([None, inner]))
    usage[details_out] = draw(st.sampled_from([None, outer]))
    path = draw(st.sampled_from(["", "/chat/completions", "/images/generations", "/responses"]))
    return usage, names, path


@settings(max_examples=400, deadline=None)
@given(token_usage())
def test_meters_always_add_back_to_the_totals_or_the_usage_is_refused(drawn):
    usage, (total_in, total_out, details_in, _), path = drawn
    try:
        meters = normalise_usage(usage, path).meters
    except InvalidEvent as refused:
        reason = str(refused)
    else:
        reason = ""
    if reason:
        assert "exceed" in reason or "ambiguous" in reason
        return
    assert all(meters.quantity(m) >= 0 for m in ("input", "cached_input", "cache_write_input", "audio_input",
                                                 "cached_audio_input", "image_input", "cached_image_input",
                                                 "output", "audio_output", "image_output"))
    assert meters.prompt_tokens == usage[total_in]
    assert meters.completion_tokens == usage[total_out]
    details = usage.get(details_in) or {}
    assert meters.audio_input + meters.cached_audio_input == (details.get("audio_tokens") or 0)
    assert meters.image_input + meters.cached_image_input == (details.get("image_tokens") or 0)
    assert meters.cache_write_input == (details.get("cache_write_tokens") or 0)
    assert meters.reasoning <= meters.output


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_every_consistent_chat_split_is_accepted_and_kept(text, cached, audio, image):
    """Parts that fit their total are never refused: the split comes back as sent."""
    usage = {"prompt_tokens": text + cached + audio + image, "completion_tokens": 0,
             "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio, "image_tokens": image}}
    meters = normalise_usage(usage).meters
    assert (meters.input, meters.cached_input, meters.audio_input, meters.image_input) == (text, cached, audio, image)
