"""decode_groups (the merged sum read back, on every refresh): every count as written, audio seconds with
their own digits, and a row of the wrong width refused."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chargeback.usage.rollup_delta import decode_groups

ZEROS = [0] * 10   # the meters after the three written below, but for audio seconds (FIELDS order)


def _row(key: list[object], seconds: str, tokens: int = 5) -> list[object]:
    counts: list[object] = [2, 1, tokens, 0, 0, *ZEROS]
    counts[2 + 10] = seconds   # audio_seconds: FIELDS index 10
    return [*key, *counts]


def _encoded(groups: list[list[object]], spilled: list[list[object]] | None = None) -> dict[str, object]:
    return json.loads(json.dumps({"month": "2026-10", "outside_month": 3, "groups": groups,
                                  "spilled": spilled or []}))


def test_the_counts_and_the_audio_seconds_come_back_with_their_digits():
    usage = decode_groups(_encoded(
        [_row(["sub-a", "whisper", "w1", 3], "1.250"), _row(["sub-a", "whisper", "w1", 4], "0"),
         _row(["sub-b", "whisper", "w1", 4], "0.0"), _row(["sub-c", "whisper", "w1", 4], "1.250", 7)],
        [_row(["sub-a", "gpt-4o", "m", 9, "gpt-4o-ptu"], "0.10")]))
    groups, spilled = usage.stored_groups()
    assert usage.outside_month == 3
    assert list(groups) == [("sub-a", "whisper", "w1", 3), ("sub-a", "whisper", "w1", 4),
                            ("sub-b", "whisper", "w1", 4), ("sub-c", "whisper", "w1", 4)]   # as written
    texts = [str(counts[12]) for counts in groups.values()]
    assert texts == ["1.250", "0", "0.0", "1.250"]   # equal values keep their own exponent
    assert all(isinstance(counts[12], Decimal) for counts in groups.values())
    assert groups[("sub-c", "whisper", "w1", 4)][:3] == [2, 1, 7]
    assert spilled == {("sub-a", "gpt-4o", "m", 9, "gpt-4o-ptu"): [2, 1, 5, 0, 0, *ZEROS[:7], Decimal("0.10"),
                                                                    *ZEROS[8:]]}


@pytest.mark.parametrize("where", ["groups", "spilled"])
def test_a_row_of_the_wrong_width_is_refused(where: str):
    row = _row(["sub-a", "gpt-4o", "m", 9, *(["gpt-4o-ptu"] if where == "spilled" else [])], "0")
    encoded = _encoded(*([[row[:-1]], []] if where == "groups" else [[], [row[:-1]]]))
    with pytest.raises(ValueError, match="expected 15 counts, got 14"):
        decode_groups(encoded)
