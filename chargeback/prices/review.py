"""What a Retail Prices import proposes: price entries, pool hourly rates, and the questions it will not guess."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any


def plain(value: Decimal) -> str:
    """A rate as a person writes it: 2.5000 -> "2.5", 0.00013 stays "0.00013" (never 1.3E-4)."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"


@dataclass(frozen=True)
class ProposedPrice:
    """A pay-as-you-go entry for one deployment, rates per 1M tokens (or per hour of audio)."""

    deployment: str
    effective_from: date
    rates: tuple[tuple[str, Decimal], ...]
    sources: tuple[tuple[str, str], ...]     # our meter -> the Retail meter name (and region) it came from
    audio_hour: Decimal | None = None        # carried over from the entry in effect (the pages list it per hour)
    replaces_entry: bool = False             # the config has an entry of that deployment and date: it is replaced

    def to_entry(self) -> dict[str, Any]:
        entry = {"deployment": self.deployment, "effective_from": self.effective_from.isoformat(), "unit": "1M",
                 **{meter: plain(rate) for meter, rate in self.rates}}
        if self.audio_hour is not None:
            entry["audio_hour"] = plain(self.audio_hour)
        return entry


@dataclass(frozen=True)
class ProposedPoolRate:
    """A PTU pool's list price per PTU-hour, as a new entry of the pool (its PTUs and weights kept)."""

    deployment: str
    effective_from: date
    ptus: int
    hourly_rate: Decimal
    weights: dict[str, str]
    source: str
    replaces_entry: bool = False

    def to_entry(self) -> dict[str, Any]:
        return {"deployment": self.deployment, "effective_from": self.effective_from.isoformat(), "ptus": self.ptus,
                "hourly_rate": plain(self.hourly_rate), "weights": self.weights}


@dataclass(frozen=True)
class Question:
    """Something the pages cannot decide alone; the deployment gets no proposal until it is answered."""

    deployment: str
    question: str
    options: tuple[str, ...] = ()
    answer_with: str = ""


@dataclass(frozen=True)
class PriceReview:
    """The whole proposal, for a person to review before anything changes."""

    prices: tuple[ProposedPrice, ...]
    pools: tuple[ProposedPoolRate, ...]
    unchanged: tuple[str, ...]               # deployments whose entry in effect already has these rates
    questions: tuple[Question, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prices": [{**p.to_entry(), "replaces_entry": p.replaces_entry,
                        "sources": dict(p.sources)} for p in self.prices],
            "pools": [{**p.to_entry(), "replaces_entry": p.replaces_entry, "source": p.source} for p in self.pools],
            "unchanged": list(self.unchanged),
            "questions": [{"deployment": q.deployment, "question": q.question, "options": list(q.options),
                           "answer_with": q.answer_with} for q in self.questions],
            "notes": list(self.notes)}
