"""FOCUS rows of an invoice line split by who used it: end user and tag set (issue 15), and the calls metered
from API Management's gateway logs.

An invoice line (department x subscription x deployment x price period) mixes users, so each of its meter
rows is split by the quantity each label used of that meter (usage/attribution_lines.py): one row per label
among the line's top ``TOP_LABELS`` (by tokens), one row for all further attributed calls, one row for the
gateway-log calls, and one row for the rest (calls that named no user or tag). So a line has at most
``TOP_LABELS + 3`` rows per meter, whatever the number of users. The meter row's ``BilledCost`` is split by
quantity to the minor unit (largest remainder, ``focus_rows.split``): the rows of a line still sum exactly to
the line, and the invoices do not change. ``ListCost`` and ``PricingQuantity`` are worked out per part from
the line's rate, so ``ListCost = ListUnitPrice x PricingQuantity`` holds on every row.

Tags, FOCUS 1.2 (FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, specification/columns/tags.md): "Tags MUST be in
KeyValueFormat" (a JSON object); "Provider-defined tags MUST be prefixed with a provider-specified tag key
prefix"; "When a provider has only 1 user-defined tag scheme, the provider MUST NOT alter any user-defined
Tag keys"; "Providers MUST NOT alter Tag values". The end user is recorded by the platform (a header or
token claim chosen in infra): provider-defined, ``chargeback/endUser`` (a hashed id stays the ``hmac:`` hash
the gateway stored). The calls' own ``key=value`` tags come from the departments' apps: user-defined, the
only user-defined scheme, so their keys and values are written unaltered, without the prefix (their keys
cannot contain ``/``, so never look provider-defined). ``chargeback/attribution: "others"`` marks the row of
the calls beyond the top labels; ``chargeback/meteredBy: "gateway-logs"`` the calls priced without cached
tokens. Rows of calls that named no user or tag carry none of these. The prefix is ``PREFIX`` below
(``focus.TAG_PREFIX`` is the same).
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from chargeback.documents.focus_rows import Row, number, split
from chargeback.usage.attribution_lines import Label, LabelUsage
from chargeback.usage.meters import METERS, MeterQuantities

TOP_LABELS = 10
PREFIX = "chargeback/"
GATEWAY_NOTE = ("metered from API Management gateway logs, which report no cached tokens: input priced at the "
                "input rate (cached input not discounted)")
EXTRA_TAGS = "_tags"   # a row's own tags, merged into its Tags by focus.py (never a column)
# What a part of a meter row recomputes from its quantity: the columns that scale with it.
Measure = Callable[[str, int | Decimal], Row]


def parts(usages: list[LabelUsage]) -> list[LabelUsage]:
    """The line's top labels by tokens (ties by requests, then label), then all further attributed calls
    together, then the gateway-log calls: the rows the line's meters are split into."""
    attributed = [u for u in usages if u.label.attributed and not u.label.folded]
    ranked = sorted(attributed, key=lambda u: (-u.meters.total_tokens, -u.requests, u.label))
    rest: dict[Label, LabelUsage] = {}
    for usage in ranked[TOP_LABELS:] + [u for u in usages if u.label.folded]:
        key = Label(gateway_logs=usage.label.gateway_logs, folded=True)
        _add(rest, key, usage)
    gateway: dict[Label, LabelUsage] = {}
    for usage in usages:
        if not usage.label.attributed:
            _add(gateway, usage.label, usage)
    return ranked[:TOP_LABELS] + sorted(rest.values(), key=lambda u: u.label) + list(gateway.values())


def _add(into: dict[Label, LabelUsage], key: Label, usage: LabelUsage) -> None:
    found = into.get(key)
    into[key] = (LabelUsage(key, usage.requests, usage.meters) if found is None
                 else LabelUsage(key, found.requests + usage.requests, found.meters + usage.meters))


def label_tags(label: Label) -> dict[str, str]:
    """The Tags a label's rows add (see the module's docstring for the rules)."""
    tags: dict[str, str] = {}
    for tag in label.tags:
        key, _, value = tag.partition("=")
        tags[key] = value
    if label.end_user:
        tags[f"{PREFIX}endUser"] = label.end_user
    if label.folded:
        tags[f"{PREFIX}attribution"] = "others"
    if label.gateway_logs:
        tags[f"{PREFIX}meteredBy"] = "gateway-logs"
    return tags


def split_rows(rows: list[Row], line_meters: MeterQuantities, usages: list[LabelUsage], step: Decimal,
               measure: Measure) -> list[Row]:
    """``rows`` (one line's rows) with each meter row split by ``usages``; unchanged without attribution.

    A line whose labels used more of a meter than the line has (never, when both come from one aggregate)
    is left unsplit rather than shown with a negative part."""
    chosen = parts(usages)
    if not chosen:
        return rows
    out: list[Row] = []
    for row in rows:
        meter = row.get("x_Meter")
        if meter not in METERS or not line_meters.quantity(str(meter)):
            out.append(row)
            continue
        pieces = _pieces(str(meter), line_meters.quantity(str(meter)), chosen)
        if pieces is None:
            return rows
        out += _split_row(row, str(meter), pieces, step, measure)
    return out


def _pieces(meter: str, total: int | Decimal, chosen: list[LabelUsage]) -> list[tuple[Label, int | Decimal]] | None:
    mine = [(u.label, u.meters.quantity(meter)) for u in chosen if u.meters.quantity(meter)]
    rest = total - sum((q for _label, q in mine), Decimal(0))
    if rest < 0:
        return None
    rest_label = Label()   # calls that named no user or tag
    return ([(rest_label, rest)] if rest else []) + mine


def _split_row(row: Row, meter: str, pieces: list[tuple[Label, int | Decimal]], step: Decimal,
               measure: Measure) -> list[Row]:
    if len(pieces) == 1 and pieces[0][0] == Label():
        return [row]
    weights = {f"{i:04d}": Decimal(q) for i, (_label, q) in enumerate(pieces)}
    billed = split(Decimal(str(row["BilledCost"])), weights, step)
    out = []
    for i, (label, quantity) in enumerate(pieces):
        amount = number(billed[f"{i:04d}"])
        part: Row = {**row, **measure(meter, quantity), "ConsumedQuantity": number(quantity),
                     "BilledCost": amount, "EffectiveCost": amount, "ContractedCost": amount}
        if "ListCost" not in part or part["ListCost"] is None:   # a pool share: its list cost is its share
            part["ListCost"] = amount
        if i:
            part["x_Requests"] = part["x_UnmeteredRequests"] = 0
        tags = label_tags(label)
        if tags:
            part[EXTRA_TAGS] = tags
        if label.gateway_logs:
            part["ChargeDescription"] = f"{row.get('ChargeDescription', '')} ({GATEWAY_NOTE})"
        out.append(part)
    return out
