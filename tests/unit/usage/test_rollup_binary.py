"""The merged sum's packed groups (chargeback/usage/rollup_binary): what the hourly refresh reads back whole.
Each is compared with the counts as written by hand, or with decode_groups of the JSON rows (the encoding
the refresh read before), never with the packing code's own output."""
from __future__ import annotations

import json
import random
import zlib
from decimal import Decimal

import pytest

from chargeback.storage.rollup_parts import merged_document, merged_payload
from chargeback.usage.rollup_binary import (
    PackedGroups,
    decode_usage,
    pack_groups,
    packed_header,
    unpack_groups,
)
from chargeback.usage.rollup_delta import decode_groups, encode_groups

ZEROS = [0] * 10   # the meters after the three written below, but for audio seconds (FIELDS order)
AUDIO = 12         # audio_seconds among the counts: 2 + FIELDS index 10


def _row(key: list[object], seconds: str, tokens: int = 5, requests: int = 2) -> list[object]:
    counts: list[object] = [requests, 1, tokens, 0, 0, *ZEROS]
    counts[AUDIO] = seconds
    return [*key, *counts]


def _decoded(groups: list[list[object]], spilled: list[list[object]] | None = None):
    return decode_groups(json.loads(json.dumps({"month": "2026-10", "outside_month": 3, "groups": groups,
                                                "spilled": spilled or []})))


def _round_trip(usage):
    packed = pack_groups(usage, {"format": 2})
    assert packed is not None
    return unpack_groups(*packed_header(packed))


def _same(got, want) -> None:
    """Same groups in the same order, same counts, the same types (int, Decimal) and Decimal texts."""
    for mine, theirs in zip(got.stored_groups(), want.stored_groups(), strict=True):
        assert list(mine) == list(theirs)
        for key in theirs:
            assert [(type(c), str(c)) for c in mine[key]] == [(type(c), str(c)) for c in theirs[key]], key
    assert (got.month, got.outside_month) == (want.month, want.outside_month)


def test_counts_audio_texts_and_spilled_groups_come_back_as_written():
    usage = _round_trip(_decoded(
        [_row(["sub-b", "whisper", "w1", 4], "0.0"), _row(["sub-a", "whisper", "w1", 3], "1.250"),
         _row(["sub-a", "whisper", "w1", 4], "0"), _row(["sub-c", "whisper", "w1", 4], "1.250", 7)],
        [_row(["sub-a", "gpt-4o", "m", 9, "gpt-4o-ptu"], "0.10", 11)]))
    groups, spilled = usage.stored_groups()
    # key order (what the pricing of the month so far reads runs in), whatever order they were written in
    assert list(groups) == [("sub-a", "whisper", "w1", 3), ("sub-a", "whisper", "w1", 4),
                            ("sub-b", "whisper", "w1", 4), ("sub-c", "whisper", "w1", 4)]
    assert [str(counts[AUDIO]) for counts in groups.values()] == ["1.250", "0", "0.0", "1.250"]
    assert all(isinstance(counts[AUDIO], Decimal) for counts in groups.values())
    assert groups[("sub-c", "whisper", "w1", 4)][:3] == [2, 1, 7]
    counts: list[object] = [2, 1, 11, 0, 0, *ZEROS]
    counts[AUDIO] = Decimal("0.10")
    assert spilled == {("sub-a", "gpt-4o", "m", 9, "gpt-4o-ptu"): counts}
    assert usage.outside_month == 3


def test_many_random_groups_equal_the_json_rows_read_back():
    rng = random.Random(7)
    subs, deployments, models = ["sub-a", "sub-ü", "sub-c~1"], ["gpt-4o", "o1", "whisper"], ["m1", "m2"]
    groups, spilled, seen = [], [], set()
    for _ in range(600):
        key = [rng.choice(subs), rng.choice(deployments), rng.choice(models), rng.randint(1, 31)]
        spill = rng.random() < 0.2
        if spill:
            key.append(rng.choice(["ptu-a", "ptu-b"]))
        if tuple(key) in seen:
            continue
        seen.add(tuple(key))
        seconds = rng.choice(["0", "0", "0.0", "12.5", "3", "0.333", "1E+2"])
        (spilled if spill else groups).append(_row(key, seconds, rng.randint(0, 2**40), rng.randint(1, 900)))
    usage = _decoded(groups, spilled)
    # what the refresh read back before: the JSON rows encode_groups writes (in key order), decoded
    _same(_round_trip(usage), decode_groups(json.loads(json.dumps(encode_groups(usage)))))


def test_an_empty_month_round_trips():
    want = _decoded([], [])
    _same(_round_trip(want), want)


def test_a_count_past_64_bits_keeps_the_json_rows():
    usage = _decoded([_row(["sub-a", "gpt-4o", "m", 1], "0", 2**63)])
    assert pack_groups(usage, {}) is None
    document = merged_document(merged_payload(usage, {"2026-10~00": "d1"}, {"2026-10~00": {}}))
    assert document is not None and isinstance(document["usage"], dict)   # the JSON rows
    assert decode_usage(document["usage"]).stored_groups()[0][("sub-a", "gpt-4o", "m", 1)][2] == 2**63


def test_the_merged_blob_carries_its_part_map_and_attribution():
    usage = _decoded([_row(["sub-a", "gpt-4o", "m", 1], "0.5")])
    parts, attribution = {"2026-10~01": "bb", "2026-10~00": "aa"}, {"2026-10~00": {"attribution": {"x": 1}}}
    document = merged_document(merged_payload(usage, parts, attribution))
    assert document is not None
    assert document["parts"] == {"2026-10~00": "aa", "2026-10~01": "bb"}
    assert document["attribution"] == attribution
    assert isinstance(document["usage"], PackedGroups) and len(document["usage"]) == 1
    _same(decode_usage(document["usage"]), usage)


def test_another_format_is_not_read():
    body = json.dumps({"format": 1, "parts": {}, "attribution": {}, "usage": {}}).encode()
    assert merged_document(zlib.compress(body)) is None


def test_a_payload_short_of_its_groups_is_refused():
    packed = pack_groups(_decoded([_row(["sub-a", "gpt-4o", "m", 1], "0"), _row(["sub-a", "gpt-4o", "m", 2], "0")]),
                         {})
    assert packed is not None
    header, body = packed_header(packed[:-8])
    with pytest.raises(ValueError, match="integers for 2 \\+ 0 groups"):
        unpack_groups(header, body)


def test_json_is_not_taken_for_packed_groups():
    with pytest.raises(ValueError, match="not packed"):
        packed_header(b'{"format": 2}')
