"""PTU pools from Retail Prices pages: the hourly list price per PTU of a provisioned deployment.

Provisioned throughput is listed as "Provisioned Managed Global" / "... Data Zone" / "... Regional" in
``unitOfMeasure`` "1 Hour" (type Consumption: per PTU-hour), and as Reservation items per month or year.
A pool billed by ``ptus`` + ``hourly_rate`` gets a proposal; a reservation price is only ever shown
(a reserved pool is configured with its ``monthly_cost``), never chosen.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from chargeback.config.model import ChargebackConfig, Pool
from chargeback.prices.meter_names import read_provisioned
from chargeback.prices.retail import RetailItem
from chargeback.prices.review import ProposedPoolRate, Question, plain

PoolOutcome = tuple[tuple[ProposedPoolRate, ...], tuple[Question, ...], tuple[str, ...], tuple[str, ...]]


def propose_pools(config: ChargebackConfig, all_items: tuple[RetailItem, ...], usable: list[RetailItem],
                  effective_from: date | None) -> PoolOutcome:
    """(proposals, questions, notes, unchanged pools) for every pool of ``config``."""
    proposals: list[ProposedPoolRate] = []
    questions: list[Question] = []
    notes = [f"reservation price, not chosen: {i.meter_name} {plain(i.price)} {i.currency} per "
             f"{i.reservation_term or i.unit_of_measure} ({i.region or 'no region'})"
             for i in all_items if i.price_type == "Reservation" and read_provisioned(i.meter_name)]
    unchanged: list[str] = []
    for deployment in sorted({p.deployment for p in config.pools}):
        entry = config.pool_history(deployment)[-1]
        found = _candidates(config, deployment, usable)
        if isinstance(found, Question):
            questions.append(found)
            continue
        if not found:
            continue
        rates = {i.price for i in found}
        if len(rates) > 1:
            regions = ", ".join(sorted(f"{i.region or '?'} {plain(i.price)}" for i in found))
            questions.append(Question(deployment, f"the PTU-hour price differs by region ({regions}); which region?",
                                      answer_with="--region REGION"))
            continue
        rate = rates.pop()
        outcome = _proposal(deployment, entry, rate, found, effective_from, config)
        if isinstance(outcome, Question):
            questions.append(outcome)
        elif isinstance(outcome, str):
            (unchanged if outcome == deployment else notes).append(outcome)
        else:
            proposals.append(outcome)
    return tuple(proposals), tuple(questions), tuple(notes), tuple(unchanged)


def _candidates(config: ChargebackConfig, deployment: str, usable: list[RetailItem]) -> list[RetailItem] | Question:
    hourly = [i for i in usable if i.base_unit.casefold() == "hour" and i.block == 1]
    named = {n.casefold() for n, t in (config.actuals.meters if config.actuals else ()) if t.pool == deployment}
    if named:
        return [i for i in hourly if i.meter_name.casefold() in named]
    by_type: dict[str, list[RetailItem]] = {}
    for item in hourly:
        kind = read_provisioned(item.meter_name)
        if kind is not None:
            by_type.setdefault(kind, []).append(item)
    if len(by_type) > 1:
        options = tuple(f"{kind}: {plain(found[0].price)} per PTU-hour" for kind, found in sorted(by_type.items()))
        return Question(deployment, "several provisioned deployment types are listed; which one is the pool?",
                        options, f'name its meter in actuals.meters, e.g. "Provisioned Managed Global": '
                                 f"{{pool: {deployment}}}")
    return next(iter(by_type.values()), [])


def _proposal(deployment: str, entry: Pool, rate: Decimal, found: list[RetailItem], effective_from: date | None,
              config: ChargebackConfig) -> ProposedPoolRate | Question | str:
    if entry.ptus is None:
        return (f"{deployment} is billed by monthly_cost; the pages list {plain(rate)} per PTU-hour "
                f"({found[0].meter_name}): not proposed")
    if entry.hourly_rate == rate:
        return deployment
    day = effective_from or max(i.effective_from for i in found)
    if effective_from is None and day <= entry.effective_from:
        return Question(deployment, f"Azure lists {plain(rate)} per PTU-hour since {day.isoformat()}, the pool's "
                        f"entry of {entry.effective_from.isoformat()} has {entry.hourly_rate}; from which day?",
                        answer_with="--effective-from YYYY-MM-DD")
    where = f"{found[0].meter_name} ({found[0].unit_of_measure}, {found[0].region or 'no region'})"
    return ProposedPoolRate(deployment=deployment, effective_from=day, ptus=entry.ptus, hourly_rate=rate,
                            weights={m: str(w) for m, w in entry.weights.values}, source=where,
                            replaces_entry=any(p.effective_from == day for p in config.pool_history(deployment)))
