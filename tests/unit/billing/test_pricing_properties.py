"""Properties of pricing that hold for any usage: exact sums, order and split independence, no negatives."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.billing.pools import largest_remainder
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.record import UsageRecord

MONTH = "2026-03"
CONFIG_TEMPLATE = """
currency: {currency}
markup_percent: {markup}
departments:
  - {{id: alpha, subscriptions: [sub-a1, sub-a2]}}
  - {{id: beta, subscriptions: [sub-b1]}}
  - {{id: gamma, subscriptions: [sub-c1]}}
prices:
  - {{deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, cached_input: 1.25, output: 10.00}}
  - {{deployment: gpt-4o, effective_from: 2026-03-16, unit: 1M, input: 2.00, cached_input: 1.00, output: 8.00}}
  - {{deployment: gpt-4o-mini, effective_from: 2026-01-01, unit: 1K, input: 0.00015, output: 0.0006}}
pools:
  - {{deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: {pool_cost},
      weights: {{input: 1, cached_input: 0, output: 4}}}}
  - {{deployment: gpt-41-ptu, effective_from: 2026-03-10, ptus: {ptus}, hourly_rate: 0.77}}
  - {{deployment: gpt-41-ptu, effective_from: 2026-03-20, monthly_cost: 999.99,
      weights: {{input: 1, cached_input: 0.1, output: 3}}}}
"""
SUBSCRIPTIONS = ["sub-a1", "sub-a2", "sub-b1", "sub-c1", "sub-unclaimed"]
DEPLOYMENTS = ["gpt-4o", "gpt-4o-mini", "gpt-4o-ptu", "gpt-41-ptu", "not-priced"]
START = datetime(2026, 3, 1, tzinfo=UTC)

configs = st.builds(
    lambda currency, markup, pool_cost, ptus: parse_config(CONFIG_TEMPLATE.format(
        currency=currency, markup=markup, pool_cost=pool_cost, ptus=ptus)),
    st.sampled_from(["USD", "JPY", "KWD"]),
    st.sampled_from(["0", "2.5", "10", "33.333"]),
    st.decimals(min_value=0, max_value=10**7, places=3).map(str),
    st.integers(min_value=1, max_value=500))


@st.composite
def records(draw, n=0):
    prompt = draw(st.integers(0, 3_000_000))
    completion = draw(st.integers(0, 1_000_000))
    return UsageRecord(
        record_id=f"r{n}", timestamp=START + timedelta(milliseconds=draw(st.integers(-3_600_000, 31 * 86_400_000))),
        subscription=draw(st.sampled_from(SUBSCRIPTIONS)), deployment=draw(st.sampled_from(DEPLOYMENTS)),
        model=draw(st.sampled_from(["", "model-a", "model-b"])), prompt_tokens=prompt,
        cached_tokens=draw(st.integers(0, prompt)), completion_tokens=completion,
        reasoning_tokens=draw(st.integers(0, completion)), metered=draw(st.booleans()))


usage_lists = st.lists(records(), max_size=25)


def charges_of(config, rows):
    return price_month(MONTH, aggregate_month(MONTH, iter(rows)), config)


def half_up(value: Fraction, places: int) -> Fraction:
    """Independent of Decimal: round a non-negative fraction half up to ``places`` digits."""
    scale = 10 ** places
    return Fraction(math.floor(value * scale + Fraction(1, 2)), scale)


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(0, 10**9), step=st.sampled_from([Decimal("0.01"), Decimal("1"), Decimal("0.001")]),
       weights=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3),
                               st.decimals(min_value=0, max_value=10**6, places=2), min_size=1, max_size=8))
def test_largest_remainder_parts_sum_exactly(cents, step, weights):
    if not any(weights.values()):
        weights = {**weights, "zz": Decimal(1)}
    total = cents * step
    parts = largest_remainder(total, weights, step)
    assert sum(parts.values()) == total
    whole = sum(Fraction(w) for w in weights.values())
    for key, part in parts.items():
        exact = Fraction(total) * Fraction(weights[key]) / whole
        assert part >= 0 and abs(Fraction(part) - exact) < Fraction(step)
        assert (part / step) == (part / step).to_integral_value()
        if weights[key] == 0:
            assert part == 0
    assert largest_remainder(total, dict(reversed(list(weights.items()))), step) == parts


@settings(max_examples=80, deadline=None)
@given(configs, usage_lists)
def test_pool_shares_sum_to_the_pool_cost(config, rows):
    charges = charges_of(config, rows)
    assert [p.deployment for p in charges.pools] == ["gpt-41-ptu", "gpt-41-ptu", "gpt-4o-ptu"]
    for pool in charges.pools:
        assert sum(pool.shares.values()) == pool.cost
        lines = [line for d in charges.departments for line in d.lines
                 if line.kind == "pool" and line.pool == pool.deployment and line.period_start == pool.period_start]
        assert sum(line.amount for line in lines) == pool.cost


@settings(max_examples=60, deadline=None)
@given(configs, usage_lists, st.randoms(use_true_random=False), st.integers(0, 25))
def test_totals_do_not_depend_on_record_order_or_partitions(config, rows, rng, cut):
    expected = charges_of(config, rows).to_dict()
    shuffled = list(rows)
    rng.shuffle(shuffled)
    assert charges_of(config, shuffled).to_dict() == expected
    east, west = aggregate_month(MONTH, shuffled[:cut]), aggregate_month(MONTH, shuffled[cut:])
    assert price_month(MONTH, west.merge(east), config).to_dict() == expected


def _money_view(charges) -> dict:
    """Every figure and token count that must survive splitting a record (request counts may not)."""
    tokens = ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")
    view = charges.to_dict()
    for line in [line for d in view["departments"] for line in d["lines"]] + view["unpriced"]:
        line.pop("requests")
        line.pop("unmetered")
    view["warnings"] = [w for w in view["warnings"] if "request" not in w and "record" not in w]   # counts
    view["tokens"] = {t: sum(line[t] for d in view["departments"] for line in d["lines"]) for t in tokens}
    return view


@st.composite
def split(draw, record: UsageRecord):
    """Two records whose token counts add up to ``record``'s, the second later on the same UTC day."""
    prompt = draw(st.integers(0, record.prompt_tokens))
    rest = record.prompt_tokens - prompt
    cached = draw(st.integers(max(0, record.cached_tokens - rest), min(record.cached_tokens, prompt)))
    completion = draw(st.integers(0, record.completion_tokens))
    rest = record.completion_tokens - completion
    reasoning = draw(st.integers(max(0, record.reasoning_tokens - rest), min(record.reasoning_tokens, completion)))
    day_end = record.timestamp.replace(hour=23, minute=59, second=59, microsecond=999000)
    later = draw(st.integers(0, int((day_end - record.timestamp).total_seconds() * 1000)))
    first = UsageRecord(record.record_id + "-1", record.timestamp, record.subscription, record.deployment,
                        prompt, cached, completion, reasoning, metered=record.metered, model=record.model)
    second = UsageRecord(record.record_id + "-2", record.timestamp + timedelta(milliseconds=later),
                         record.subscription, record.deployment, record.prompt_tokens - prompt,
                         record.cached_tokens - cached, record.completion_tokens - completion,
                         record.reasoning_tokens - reasoning, metered=record.metered, model=record.model)
    return first, second


@settings(max_examples=80, deadline=None)
@given(configs, st.lists(records(), min_size=1, max_size=20), st.data())
def test_splitting_a_record_in_two_changes_no_figure(config, rows, data):
    # Prices apply per price period and pools per pool period, both whole UTC days, and a line sums its
    # tokens before it is rounded: so two halves on the same day price exactly like the whole.
    index = data.draw(st.integers(0, len(rows) - 1))
    first, second = data.draw(split(rows[index]))
    halves = [*rows[:index], first, second, *rows[index + 1:]]
    assert _money_view(charges_of(config, halves)) == _money_view(charges_of(config, rows))


@settings(max_examples=80, deadline=None)
@given(configs, usage_lists)
def test_nothing_is_negative_every_figure_reconciles_and_no_token_is_lost(config, rows):
    charges = charges_of(config, rows)
    places = config.minor_unit
    for dept in charges.departments:
        for line in dept.lines:
            assert line.amount >= 0 and line.amount.as_tuple().exponent == -places
            assert min(line.prompt_tokens, line.cached_tokens, line.completion_tokens, line.reasoning_tokens) >= 0
        assert dept.subtotal == sum(line.amount for line in dept.lines)
        assert Fraction(dept.markup) == half_up(Fraction(dept.subtotal) * Fraction(config.markup_percent) / 100, places)
        assert dept.total == dept.subtotal + dept.markup >= 0
    assert charges.grand_total == sum(d.total for d in charges.departments)
    assert all(share >= 0 for pool in charges.pools for share in pool.shares.values())

    in_month = [r for r in rows if r.timestamp.astimezone(UTC).strftime("%Y-%m") == MONTH]
    shown = [line for d in charges.departments for line in d.lines] + list(charges.unpriced)
    for tokens in ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens"):
        assert sum(getattr(x, tokens) for x in shown) == sum(getattr(r, tokens) for r in in_month)
    assert sum(x.requests for x in shown) == len(in_month)
