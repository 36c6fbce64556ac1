"""Usage by end user and by tag, apart from the invoice lines (whose keys must not multiply by users).

Bounded: each subscription keeps at most ``MAX_LABELS`` users and ``MAX_LABELS`` tags; the rest is counted
under ``OTHERS``. A department's view keeps its top ``n`` of each kind by tokens and sums the rest into
``OTHERS``, so every request and token of the attributed calls is in exactly one row. Measured usage, not
priced: a user's share of a pool or a price period is not worked out here.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chargeback.usage.attribution_lines import LineAttribution
from chargeback.usage.record import UsageRecord

USER, TAG = "user", "tag"
OTHERS = "(others)"
MAX_LABELS = 1000
COLUMNS = ("subscription", "kind", "label", "requests", "tokens")


@dataclass(frozen=True, slots=True)
class AttributionRow:
    """One user's or tag's calls in a department (or all the others')."""

    kind: str          # USER or TAG
    label: str         # the end user id (or its hmac:), a "key=value" tag, or OTHERS
    requests: int
    tokens: int        # input + output tokens of those calls

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "requests": self.requests, "tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttributionRow:
        return cls(str(data["kind"]), str(data["label"]), int(data["requests"]), int(data["tokens"]))


class AttributionRollup:
    """(subscription, kind, label) -> [requests, tokens], bounded per subscription and kind."""

    __hash__ = None   # type: ignore[assignment]  # mutable

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], list[int]] = {}
        self._labels: dict[tuple[str, str], int] = defaultdict(int)   # (subscription, kind) -> labels kept
        self.lines = LineAttribution()   # the same calls per invoice line and meter, for the FOCUS export

    def add(self, record: UsageRecord) -> None:
        """Count an attributed call (and, per line only, a call metered from the gateway logs)."""
        self.lines.add(record)
        tokens = record.total_tokens
        if record.end_user:
            self._count(record.subscription, USER, record.end_user, 1, tokens)
        for tag in record.tags:
            self._count(record.subscription, TAG, tag, 1, tokens)

    def _count(self, subscription: str, kind: str, label: str, requests: int, tokens: int) -> None:
        key = (subscription, kind, label)
        counts = self._counts.get(key)
        if counts is None:
            if label != OTHERS and self._labels[(subscription, kind)] >= MAX_LABELS:
                key = (subscription, kind, OTHERS)
                counts = self._counts.setdefault(key, [0, 0])
            else:
                if label != OTHERS:
                    self._labels[(subscription, kind)] += 1
                counts = self._counts[key] = [0, 0]
        counts[0] += requests
        counts[1] += tokens

    def merge(self, other: AttributionRollup) -> None:
        for (subscription, kind, label), (requests, tokens) in sorted(other._counts.items()):
            self._count(subscription, kind, label, requests, tokens)
        self.lines.merge(other.lines)

    def __bool__(self) -> bool:
        return bool(self._counts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttributionRollup) and (self._counts, self.lines) == (other._counts, other.lines)

    def to_rows(self) -> list[list[Any]]:
        return [[*key, requests, tokens] for key, (requests, tokens) in sorted(self._counts.items())]

    @classmethod
    def from_rows(cls, rows: list[list[Any]], line_rows: list[list[Any]] | None = None) -> AttributionRollup:
        """Inverse of ``to_rows`` (and of ``lines.to_rows``, kept apart so a month without them reads as before)."""
        rollup = cls()
        for subscription, kind, label, requests, tokens in rows:
            rollup._count(str(subscription), str(kind), str(label), int(requests), int(tokens))
        rollup.lines = LineAttribution.from_rows(line_rows or [])
        return rollup

    def top_by_department(self, department_for: Callable[[str], str], n: int = 10) -> dict[str, list[AttributionRow]]:
        """Each department's top ``n`` users, then top ``n`` tags, by tokens (ties by label), then OTHERS."""
        summed: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(dict)
        for (subscription, kind, label), (requests, tokens) in self._counts.items():
            cell = summed[department_for(subscription)].setdefault((kind, label), [0, 0])
            cell[0] += requests
            cell[1] += tokens
        out: dict[str, list[AttributionRow]] = {}
        for dept, cells in sorted(summed.items()):
            rows: list[AttributionRow] = []
            for kind in (USER, TAG):
                ranked = sorted(((label, c) for (k, label), c in cells.items() if k == kind and label != OTHERS),
                                key=lambda item: (-item[1][1], -item[1][0], item[0]))
                rows += [AttributionRow(kind, label, c[0], c[1]) for label, c in ranked[:n]]
                rest = [c for _label, c in ranked[n:]] + ([cells[(kind, OTHERS)]] if (kind, OTHERS) in cells else [])
                if rest:
                    rows.append(AttributionRow(kind, OTHERS, sum(c[0] for c in rest), sum(c[1] for c in rest)))
            out[dept] = rows
        return out
