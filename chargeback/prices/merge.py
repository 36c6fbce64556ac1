"""Writing reviewed proposals into a config document (for `config import`), validated before it is returned."""
from __future__ import annotations

from typing import Any

from chargeback.config.loading import config_from_dict
from chargeback.config.model import ChargebackConfig
from chargeback.prices.review import PriceReview


def config_with_proposals(config: ChargebackConfig, review: PriceReview) -> dict[str, Any]:
    """``config``'s document with the proposed entries in (an entry of the same deployment and date is replaced).

    Raises ``InvalidConfig`` if the result would not import, so nothing invalid is ever written.
    """
    document = config.to_dict()
    document["prices"] = _merged(document["prices"], [p.to_entry() for p in review.prices])
    document["pools"] = _merged(document["pools"], [p.to_entry() for p in review.pools])
    config_from_dict(document)
    return document


def _merged(entries: list[dict[str, Any]], proposed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    replaced = {(p["deployment"], p["effective_from"]) for p in proposed}
    kept = [e for e in entries if (e["deployment"], e["effective_from"]) not in replaced]
    return sorted([*kept, *proposed], key=lambda e: (e["deployment"], e["effective_from"]))
