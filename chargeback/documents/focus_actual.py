"""FOCUS rows in the modes that use Azure's actual bill (DESIGN.md "Actual bill"): ``EffectiveCost`` is
the actual cost, ``BilledCost`` what the department is invoiced.

Each of the department's actual lines (its part of one meter's or pool's actual cost) is split over the
department's list-price rows of that meter or pool (by consumed quantity; a pool's rows by weighted tokens),
largest remainder, as their ``EffectiveCost``. Mode ``actual`` invoices those amounts, so ``BilledCost`` =
``EffectiveCost`` there and ``ListCost`` stays the list price. An actual line without a row (an unmapped
meter, usage nobody measured) is placed: in ``actual`` as a row of its own; in ``true_up`` on the true-up
row. The true-up is an ``Adjustment``: its ``BilledCost`` is the true-up amount; FOCUS 1.2 ListCost and
ContractedCost: "The ListCost of a charge calculated based on other charges ... MUST be calculated based on
the ListCost of those related charges" (specification/columns/listcost.md, contractedcost.md alike): the
true-up changes no list price of the lines it settles, so both are 0. An actual row of its own relates to
no other charge and has no ListUnitPrice, so its ListCost "MUST match the BilledCost".
So over a department's rows (markup aside) both ``EffectiveCost`` and ``BilledCost`` sum to its part of the
actual bill.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from chargeback.billing.charges import ActualLine, DepartmentCharges
from chargeback.documents.focus_rows import RESOURCE_TYPE, Row, instant, number, split

_KINDS = {"payg": "{resource}/{meter}", "pool-share": "pool:{resource}"}


def apply_actuals(rows: list[Row], department: DepartmentCharges, step: Decimal, first_day: date,
                  next_first_day: date) -> list[Row]:
    """``rows`` (the department's list-price rows) with actual costs, and the rows the actual bill adds."""
    if not department.actual_lines:
        return rows
    invoiced_at_actual = department.true_up is None
    unplaced: list[ActualLine] = []
    for line in department.actual_lines:
        mine = [row for row in rows if _target(row) == line.target]
        if not mine:
            unplaced.append(line)
            continue
        weights = {str(i): _weight(row) for i, row in enumerate(mine)}
        for i, amount in split(line.amount, weights, step).items():
            row = mine[int(i)]
            row["EffectiveCost"] = number(amount)
            if invoiced_at_actual:
                row["BilledCost"] = row["ContractedCost"] = number(amount)
    period = {"ChargePeriodStart": instant(first_day), "ChargePeriodEnd": instant(next_first_day),
              "ChargeCategory": "Adjustment", "ChargeFrequency": "Usage-Based"}
    if department.true_up is not None:
        return [*rows, _true_up_row(department, unplaced, period)]
    return [*rows, *(_actual_row(line, period) for line in unplaced)]


def _target(row: Row) -> str | None:
    pattern = _KINDS.get(str(row.get("x_ChargeKind")))
    if pattern is None:
        return None
    return pattern.format(resource=row.get("ResourceId"), meter=row.get("x_Meter"))


def _weight(row: Row) -> Decimal:
    text = row.get("x_WeightedTokens") if row.get("x_ChargeKind") == "pool-share" else row.get("ConsumedQuantity")
    return Decimal(str(text)) if text not in (None, "") else Decimal(0)


def _true_up_row(department: DepartmentCharges, unplaced: list[ActualLine], period: Row) -> Row:
    assert department.true_up is not None   # noqa: S101 - called only for a true-up
    line = department.true_up
    effective = sum((a.amount for a in unplaced), Decimal(0))
    said = f" ({', '.join(a.target for a in unplaced)}: no list-price line)" if unplaced else ""
    return {**period, "BilledCost": number(line.amount), "EffectiveCost": number(effective), "ListCost": "0",
            "ContractedCost": "0", "x_ChargeKind": "true-up", "x_LineAmount": number(line.amount),
            "ChargeDescription": f"True-up to Azure's actual bill ({line.source}): list-price lines "
                                 f"{line.list_subtotal}, actual {line.actual}{said}"}


def _actual_row(line: ActualLine, period: Row) -> Row:
    amount = number(line.amount)
    what = ("meters not in actuals.meters: " + ", ".join(line.meter_names) if line.target == "unmapped"
            else f"{line.target}: usage Azure billed that no list-price line of this department charged")
    return {**period, "BilledCost": amount, "EffectiveCost": amount, "ListCost": amount, "ContractedCost": amount,
            "x_ChargeKind": "actual", "x_Meter": line.meter or None, "ResourceId": line.deployment or line.pool,
            "ResourceName": line.deployment or line.pool, "x_LineAmount": amount,
            "ResourceType": RESOURCE_TYPE if line.deployment or line.pool else None,
            "ChargeDescription": f"Azure's actual cost, {what}"}
