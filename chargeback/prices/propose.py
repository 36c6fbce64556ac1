"""Proposing price entries for the configured deployments from saved Retail Prices pages.

Which meters bill a deployment is taken, in this order, from ``actuals.meters`` (exact meter names),
from a ``pick`` (``gpt-4o="gpt 4o 0806 / Global"``), or from the meter names when exactly one model
version and deployment type matches the deployment's name. Anything else is asked, never chosen: several
versions or deployment types, prices that differ by region without ``--region``, no match at all.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from chargeback.config.model import ChargebackConfig, Price
from chargeback.prices.meter_names import matches_deployment, read_token_meter
from chargeback.prices.pools import propose_pools
from chargeback.prices.retail import OPENAI_SERVICES, RetailItem, RetailPrices
from chargeback.prices.review import PriceReview, ProposedPrice, Question, plain

PER_1M = Decimal(1_000_000)


def propose_prices(config: ChargebackConfig, retail: RetailPrices, region: str | None = None,
                   picks: dict[str, str] | None = None, effective_from: date | None = None) -> PriceReview:
    """Proposed entries for every pay-as-you-go deployment (and PTU pool) of ``config``; pure."""
    notes: list[str] = []
    if retail.next_page_link:
        notes.append(f"the last page has a NextPageLink ({retail.next_page_link[:80]}): pages are missing, so a "
                     "meter may be missing; save every page")
    items = _usable(config, retail, region, notes)
    prices, unchanged, questions = [], [], []
    for deployment in _payg_deployments(config):
        outcome = _for_deployment(config, deployment, items, region, (picks or {}).get(deployment), effective_from)
        if isinstance(outcome, Question):
            questions.append(outcome)
        elif outcome is None:
            unchanged.append(deployment)
        else:
            prices.append(outcome)
    pools, pool_questions, pool_notes, pools_unchanged = propose_pools(config, retail.items, items, effective_from)
    return PriceReview(prices=tuple(prices), pools=pools, unchanged=(*unchanged, *pools_unchanged),
                       questions=(*questions, *pool_questions), notes=(*notes, *pool_notes))


def _usable(config: ChargebackConfig, retail: RetailPrices, region: str | None, notes: list[str]) -> list[RetailItem]:
    openai = [i for i in retail.items if i.service_name in OPENAI_SERVICES or not i.service_name]
    in_currency = [i for i in openai if i.currency in (config.currency, "")]
    if openai and not in_currency:
        notes.append(f"the pages are priced in {openai[0].currency}, the config bills in {config.currency}: ask the "
                     f"API with currencyCode='{config.currency}'")
    usable = [i for i in in_currency if i.price_type == "Consumption" and i.tier_minimum == 0]
    if region:
        usable = [i for i in usable if i.region.casefold() == region.casefold()]
    if any(i.tier_minimum > 0 for i in in_currency):
        notes.append("tiered prices (tierMinimumUnits > 0) are left out: entries carry the first tier")
    return usable


def _payg_deployments(config: ChargebackConfig) -> list[str]:
    pooled = {p.deployment for p in config.pools}
    mapped = {t.deployment for _, t in (config.actuals.meters if config.actuals else ()) if t.deployment}
    return sorted(({p.deployment for p in config.prices} | mapped) - pooled)


def _for_deployment(config: ChargebackConfig, deployment: str, items: list[RetailItem], region: str | None,
                    pick: str | None, effective_from: date | None) -> ProposedPrice | Question | None:
    chosen = _chosen_items(config, deployment, items, pick)
    if isinstance(chosen, Question):
        return chosen
    rates: dict[str, Decimal] = {}
    sources: dict[str, str] = {}
    started: list[date] = []
    for meter, found in sorted(chosen.items()):
        per_million = {item.price * PER_1M / item.block for item in found}
        if len(per_million) > 1:
            by_region = ", ".join(sorted(f"{i.region or '?'} {plain(i.price * PER_1M / i.block)}" for i in found))
            return Question(deployment, f"the {meter} price differs by region ({by_region} per 1M); which region "
                            "is the deployment in?", answer_with="--region REGION" if not region else "")
        rates[meter] = per_million.pop()
        sources[meter] = f"{found[0].meter_name} ({found[0].unit_of_measure}, {found[0].region or 'no region'})"
        started.append(max(i.effective_from for i in found))
    day = effective_from or max(started)
    return _compare(config, deployment, day, rates, sources, dated_by_user=effective_from is not None)


def _chosen_items(config: ChargebackConfig, deployment: str, items: list[RetailItem],
                  pick: str | None) -> dict[str, list[RetailItem]] | Question:
    named = {name.casefold(): t.meter for name, t in (config.actuals.meters if config.actuals else ())
             if t.deployment == deployment and t.meter}
    by_meter: dict[str, list[RetailItem]] = defaultdict(list)
    if named:
        for item in items:
            if (meter := named.get(item.meter_name.casefold())) is not None and item.block > 1:
                by_meter[meter].append(item)
        return dict(by_meter) or Question(deployment, "no price on these pages for its actuals.meters names ("
                                          + "; ".join(sorted(named)) + ")")
    offers: dict[str, dict[str, list[RetailItem]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        token = read_token_meter(item.meter_name)
        if token is not None and item.block > 1 and matches_deployment(token.model, deployment):
            offers[token.offer][token.meter].append(item)
    if pick is not None:
        picked = next((o for o in offers if o.casefold() == pick.strip().casefold()), None)
        if picked is None:
            return Question(deployment, f"the pick {pick!r} is not one of the meter families on these pages",
                            tuple(sorted(offers)), f'--pick {deployment}="MODEL / TYPE"')
        return dict(offers[picked])
    if len(offers) == 1:
        return dict(next(iter(offers.values())))
    if not offers:
        return Question(deployment, "no Retail meter name matches the deployment's name; name its meters in "
                        "actuals.meters (the names Cost Management bills it under)")
    options = tuple(f"{offer}: " + ", ".join(f"{m} {plain(found[0].price * PER_1M / found[0].block)}/1M"
                                               for m, found in sorted(meters.items()))
                    for offer, meters in sorted(offers.items()))
    return Question(deployment, "several model versions or deployment types match; which one is deployed?", options,
                    f'--pick {deployment}="MODEL / TYPE" (e.g. "{sorted(offers)[0]}"), or name its meters in '
                    "actuals.meters")


def _compare(config: ChargebackConfig, deployment: str, day: date, rates: dict[str, Decimal],
             sources: dict[str, str], dated_by_user: bool) -> ProposedPrice | Question | None:
    history = config.price_history(deployment)
    in_effect = next((p for p in reversed(history) if p.effective_from <= day), None)
    audio_hour = None
    if in_effect is not None:
        current = _per_million(in_effect)
        for meter, rate in current.items():   # a rate the pages do not list is kept, never dropped silently
            if meter not in rates:
                rates[meter] = rate
                sources[meter] = f"kept from the entry of {in_effect.effective_from.isoformat()} (not on the pages)"
        audio_hour = in_effect.audio_hour
        if current == rates:
            return None
    if history and not dated_by_user and day <= history[-1].effective_from:
        # Dated by Azure before the config's latest entry: as dated it would change invoiced months or be
        # superseded at once. The person decides from when it applies.
        return Question(deployment, f"Azure lists these rates since {day.isoformat()}, before the config's entry "
                        f"of {history[-1].effective_from.isoformat()}; from which day do they apply?",
                        answer_with="--effective-from YYYY-MM-DD")
    return ProposedPrice(deployment=deployment, effective_from=day, rates=tuple(sorted(rates.items())),
                         sources=tuple(sorted(sources.items())), audio_hour=audio_hour,
                         replaces_entry=any(p.effective_from == day for p in history))


def _per_million(price: Price) -> dict[str, Decimal]:
    scale = PER_1M / price.tokens_per_unit
    return {meter: rate * scale for meter, rate in price.rates}
