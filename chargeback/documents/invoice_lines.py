"""The line tables of a department's Invoice sheet: each line with the meters it used, their quantity,
unit and rate (a meter without usage is left out); pool shares with each meter's weight; usage not charged."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from chargeback.billing import meter_rates
from chargeback.billing.charges import PaygLine, PoolLine, UnpricedUsage
from chargeback.documents.workbook_style import SheetWriter, period_text

AMOUNT_COLUMN = 12
METER_COLUMN = 5
PAYG_COLUMNS = ["Subscription", "Deployment", "Period", "Requests", "Meter", "Quantity", "Unit", "Rate",
                "Rate per", "Cost at rate", "Line before rounding"]
POOL_COLUMNS = ["Subscriptions", "Pool", "Period", "Requests", "Meter", "Quantity", "Weight", "Weighted",
                "Pool weighted total", "Share of pool", "Pool cost"]
UNPRICED_COLUMNS = ["Subscription", "Deployment", "Period", "Requests", "Meter", "Quantity", "Unit", "Why"]


def align(index: int, title: str) -> str:
    """Headers sit over their figures: text columns left, the units centred, figures right."""
    if index < 3 or title in ("Meter", "Why"):
        return "left"
    return "center" if title in ("Unit", "Rate per") else "right"


def _count_style(value: int | Decimal) -> str:
    return "cb-tokens" if value == int(value) else "cb-decimal"


class LineTables:
    """Writes the line sections onto an Invoice sheet, row by row from ``row``."""

    def __init__(self, out: SheetWriter, currency: str, row: int):
        self.out, self.currency, self.row = out, currency, row
        self.first_header: int | None = None

    def section(self, title: str, columns: list[str], lines: Sequence[PaygLine | PoolLine],
                write: Callable[[PaygLine | PoolLine], None], total_label: str) -> None:
        out = self.out
        self.row += 2
        out.text(self.row, 1, title, "cb-section", fit=False)
        self.row += 1
        out.header(self.row, [(c, align(i, c)) for i, c in enumerate(columns)]
                   + [(f"Amount ({self.currency})", "right")])
        self.first_header = self.first_header or self.row
        for line in lines:
            self.row += 1
            write(line)
        self.row += 1
        out.text(self.row, 1, total_label, "cb-total-label", fit=False)
        for column in (2, 3, *range(5, AMOUNT_COLUMN)):
            out.text(self.row, column, "", "cb-total-label", fit=False)
        out.number(self.row, 4, sum(line.requests for line in lines), "cb-total-tokens")
        out.number(self.row, AMOUNT_COLUMN, sum((line.amount for line in lines), Decimal(0)), "cb-total-money")

    def payg(self, line: PaygLine | PoolLine) -> None:
        assert isinstance(line, PaygLine)   # noqa: S101 - the pay-as-you-go section holds only these
        out, row = self.out, self.row
        out.text(row, 1, line.subscription)
        spilled = f" (spilled from {line.spilled_from})" if line.spilled_from else ""   # issue 15: its own line
        out.text(row, 2, (line.deployment or "(no deployment)") + spilled)
        out.text(row, 3, period_text(line.period_start, line.period_end))
        out.number(row, 4, line.requests, "cb-tokens")
        out.number(row, 11, line.exact_amount, "cb-rate")
        out.number(row, AMOUNT_COLUMN, line.amount, "cb-money")
        meters = line.priced_meters()
        if not meters:
            out.text(row, METER_COLUMN, "(no usage reported)", "cb-note", fit=False)
        for index, meter in enumerate(meters):
            if index:
                self.row += 1
            quantity, rate = line.meters.quantity(meter), line.rates[meter]
            self._meter(meter, quantity)
            out.number(self.row, 8, rate, "cb-rate")
            out.text(self.row, 9, meter_rates.rate_per_text(meter, line.unit), "cb-centre")
            out.number(self.row, 10, meter_rates.meter_cost(meter, quantity, rate, line.unit), "cb-rate")

    def pool(self, line: PaygLine | PoolLine) -> None:
        assert isinstance(line, PoolLine)   # noqa: S101 - the pool section holds only these
        out, row = self.out, self.row
        out.lines(row, 1, list(line.subscriptions) or ["(idle capacity)"])
        out.text(row, 2, line.pool)
        out.text(row, 3, period_text(line.period_start, line.period_end))
        out.number(row, 4, line.requests, "cb-tokens")
        out.number(row, 9, line.pool_weighted_tokens, _count_style(line.pool_weighted_tokens))
        out.number(row, 10, line.share, "cb-percent")
        out.number(row, 11, line.pool_cost, "cb-money")
        out.number(row, AMOUNT_COLUMN, line.amount, "cb-money")
        used = line.meters.used()
        if not used:
            out.text(row, METER_COLUMN, "(none used)", "cb-note", fit=False)
        for index, (meter, quantity) in enumerate(used.items()):
            if index:
                self.row += 1
            weight = line.weights.get(meter, Decimal(0))
            out.text(self.row, METER_COLUMN, meter_rates.label(meter))
            out.number(self.row, 6, quantity, _count_style(quantity))
            out.number(self.row, 7, weight, "cb-decimal")
            out.number(self.row, 8, weight * quantity, _count_style(weight * quantity))

    def unpriced(self, usage: list[UnpricedUsage]) -> None:
        """Each unpriced deployment's meters, one row per meter, with the reason."""
        out = self.out
        self.row += 1
        out.header(self.row, [(c, align(i, c)) for i, c in enumerate(UNPRICED_COLUMNS)])
        for u in usage:
            self.row += 1
            out.text(self.row, 1, u.subscription)
            out.text(self.row, 2, u.deployment or "(no deployment)")
            out.text(self.row, 3, period_text(u.first_day, u.last_day))
            out.number(self.row, 4, u.requests, "cb-tokens")
            meters = u.meters.used() or {"": 0}
            for index, (meter, quantity) in enumerate(meters.items()):
                if index:
                    self.row += 1
                if meter:
                    self._meter(meter, quantity)
                out.text(self.row, 8, f"{(u.reason or 'no price or pool in effect').capitalize()}: not charged",
                         "cb-warning", fit=False)

    def _meter(self, meter: str, quantity: int | Decimal) -> None:
        self.out.text(self.row, METER_COLUMN, meter_rates.label(meter))
        self.out.number(self.row, 6, quantity, _count_style(quantity))
        self.out.text(self.row, 7, meter_rates.counted_in(meter).lower(), "cb-centre")
