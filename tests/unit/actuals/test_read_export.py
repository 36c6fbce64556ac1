"""Reading Cost Management exports: the documented FOCUS and EA/MCA schemas, hand-built rows, refusals."""
from __future__ import annotations

import gzip
import hashlib
import io
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.actuals.mapping import read_month_actuals, read_month_actuals_parts
from chargeback.actuals.model import InvalidExport, MonthActuals
from chargeback.config.loading import parse_config
from chargeback.errors import InvalidConfig
from tests.fixtures.cost_exports import (
    ACTUALS_CONFIG,
    AOAI,
    EA_2024_08_01,
    FOCUS_1_0,
    FOCUS_1_2,
    HAND_PTU,
    HAND_ROWS,
    HAND_TOTAL,
    MCA_2023_12_01,
    ea_row,
    export_text,
    focus_row,
    mca_row,
)

CONFIG = parse_config(ACTUALS_CONFIG)


def read(data: bytes | str, month: str = "2026-10", config=CONFIG) -> MonthActuals:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return read_month_actuals(io.BytesIO(raw), "export.csv", month, config)


def focus_text(version: str = "1.2") -> str:
    header = FOCUS_1_2 if version == "1.2" else FOCUS_1_0
    rows = [focus_row(m, c, q, resource=r, version=version) for m, c, q, r in HAND_ROWS]
    meter, cost, hours, resource = HAND_PTU
    rows.append(focus_row(meter, cost, hours, resource=resource, unit="1 Hour", version=version))
    return "\ufeff" + export_text(header, rows)


def cost_details_text(kind: str) -> str:
    header, make = (EA_2024_08_01, ea_row) if kind == "EA" else (MCA_2023_12_01, mca_row)
    rows = [make(m, c, q, resource=r) for m, c, q, r in HAND_ROWS]
    meter, cost, hours, resource = HAND_PTU
    rows.append(make(meter, cost, hours, resource=resource, unit="1 Hour"))
    return export_text(header, rows)


@pytest.mark.parametrize(("text", "kind"), [
    (focus_text("1.2"), "FOCUS 1.2"),
    (focus_text("1.0"), "FOCUS 1.0"),
    (cost_details_text("EA"), "EA cost details"),
    (cost_details_text("MCA"), "MCA cost details"),
])
def test_every_documented_schema_gives_the_same_hand_worked_month(text, kind):
    month = read(text)
    assert month.export_format == kind
    assert (month.rows_read, month.rows_kept) == (7, 6)          # the other resource's row is read, not kept
    assert month.total_cost == Decimal(HAND_TOTAL)
    by_target = {m.target: m for m in month.mapped}
    assert set(by_target) == {"gpt-4o/input", "gpt-4o/cached_input", "gpt-4o/output", "pool:gpt-4o-ptu"}
    assert by_target["gpt-4o/input"].cost == Decimal("15.25")     # 12.50 + 2.75, two meter names, one target
    assert by_target["gpt-4o/input"].quantity == 6_000_000        # (5,000 + 1,000) blocks of 1K tokens
    assert by_target["gpt-4o/input"].meter_names == ("gpt 4o 0806 Inp glbl Tokens", "gpt 4o 0806 Inp regnl Tokens")
    assert by_target["gpt-4o/output"].cost == Decimal("10.00")
    assert by_target["pool:gpt-4o-ptu"].cost == Decimal("720.00")
    assert by_target["pool:gpt-4o-ptu"].quantity == 720 and by_target["pool:gpt-4o-ptu"].unit == "Hour"
    [unmapped] = month.unmapped
    assert (unmapped.meter_name, unmapped.cost, unmapped.quantity) == ("gpt 4o mini 0718 Inp glbl Tokens",
                                                                       Decimal("0.15"), 1_000_000)


def test_focus_1_2_row_without_sku_meter_falls_back_to_x_sku_meter_name():
    row = focus_row("gpt 4o 0806 Outp glbl Tokens", "3.00", "300")
    row["SkuMeter"] = ""
    month = read(export_text(FOCUS_1_2, [row]))
    assert [(m.target, m.cost) for m in month.mapped] == [("gpt-4o/output", Decimal("3.00"))]


def test_gzip_export_reads_the_same_and_names_its_bytes():
    data = gzip.compress(focus_text().encode("utf-8"))
    month = read(data)
    assert month.total_cost == Decimal(HAND_TOTAL)
    assert month.content_sha256 == "sha256:" + hashlib.sha256(data).hexdigest()


def test_round_trip_through_its_stored_form():
    month = read(focus_text())
    assert MonthActuals.from_dict(month.to_dict()) == month


def test_purchase_rows_without_meter_are_grouped_not_dropped():
    row = focus_row("", "0", "")
    row.update(ChargeCategory="Purchase", EffectiveCost="0", BilledCost="8000.00")   # amortised: counts 0 here
    month = read(export_text(FOCUS_1_2, [row, focus_row("gpt 4o 0806 Outp glbl Tokens", "1.00", "100")]))
    assert [(u.meter_name, u.cost, u.rows) for u in month.unmapped] == [("(no meter name)", Decimal(0), 1)]
    assert month.total_cost == Decimal("1.00")


def refusal(data: bytes | str, month: str = "2026-10") -> InvalidExport:
    with pytest.raises(InvalidExport) as caught:
        read(data, month)
    return caught.value


def test_missing_column_is_named_with_line_1():
    header = [c for c in FOCUS_1_2 if c != "ResourceId"]
    error = refusal(export_text(header, []))
    assert (error.line, error.column) == (1, "ResourceId")
    assert str(error).startswith("export.csv, line 1, column ResourceId: FOCUS 1.2 header lacks ResourceId")


def test_wrong_month_names_the_line_and_column():
    rows = [focus_row("gpt 4o 0806 Outp glbl Tokens", "1", "1"),
            focus_row("gpt 4o 0806 Outp glbl Tokens", "1", "1", day="2026-11-01")]
    error = refusal(export_text(FOCUS_1_2, rows))
    assert (error.line, error.column) == (3, "ChargePeriodStart")
    assert "2026-11-01T00:00:00Z is not in 2026-10" in str(error)


def test_wrong_month_of_another_resource_is_still_refused():
    error = refusal(export_text(EA_2024_08_01, [ea_row("D4s v3", "1", "1", day="09/30/2026", resource="/x")]))
    assert (error.line, error.column) == (2, "Date")


def test_non_numeric_cost_names_the_line_and_column():
    rows = [ea_row("gpt 4o 0806 Outp glbl Tokens", "1.00", "1"), ea_row("gpt 4o 0806 Outp glbl Tokens", "1,5", "1")]
    error = refusal(export_text(EA_2024_08_01, rows))
    assert (error.line, error.column) == (3, "CostInBillingCurrency")
    assert "'1,5' is not a number" in str(error)


def test_empty_cost_and_non_numeric_quantity_are_refused():
    assert refusal(export_text(MCA_2023_12_01, [mca_row("m", "", "1")])).column == "costInBillingCurrency"
    assert refusal(export_text(MCA_2023_12_01, [mca_row("m", "1", "lots")])).column == "quantity"


def test_other_currency_than_the_config_is_refused():
    error = refusal(export_text(FOCUS_1_2, [focus_row("m", "1", "1", currency="EUR")]))
    assert (error.line, error.column) == (2, "BillingCurrency")
    assert "config bills in USD" in str(error)


@pytest.mark.parametrize(("data", "says"), [
    (b"", "is empty"),
    (b'{"Items": []}\n', "is not a Cost Management export"),
    (b"PAR1\x00\x00\x15\x04", "is a Parquet file"),
    (b"\xff\xfe\x00B\x00i\x00l\x00l", "is not"),
    (b"EffectiveCost,ResourceId\n1,\x00\n", "header lacks"),
    (gzip.compress(b"EffectiveCost,ResourceId", mtime=0)[:12], "could not be read"),   # one id in every xdist worker
])
def test_files_that_are_not_exports_are_refused_by_name(data, says):
    error = refusal(data)
    assert error.source == "export.csv" and says in str(error)


def test_a_row_with_fields_missing_is_refused():
    text = export_text(FOCUS_1_2, [focus_row("m", "1", "1")]).rstrip("\r\n")
    error = refusal(text + "\r\n" + text.splitlines()[1].rsplit(",", 3)[0] + "\r\n")
    assert error.line == 3 and "fields where the header has 105" in str(error)


def test_config_without_actuals_section_says_what_to_add():
    plain = parse_config("currency: USD\ndepartments: [{id: a, subscriptions: [s]}]\n")
    with pytest.raises(InvalidConfig, match=r"actuals\.resources"):
        read(focus_text(), config=plain)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_reader(data):
    assert outcome(lambda: read(data)) in ("read", "refused")


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_after_a_valid_header_never_crashes(tail):
    assert outcome(lambda: read(",".join(FOCUS_1_2) + "\n" + tail)) in ("read", "refused")


def outcome(reading) -> str:
    """ "read" or "refused" (an InvalidExport naming the file); anything else propagates and fails the test."""
    try:
        reading()
    except InvalidExport as error:
        return "refused" if error.source == "export.csv" else "refused without naming the file"
    return "read"


def test_resource_match_ignores_case_but_not_other_resources():
    rows = [focus_row("gpt 4o 0806 Outp glbl Tokens", "1.00", "1", resource=AOAI.swapcase()),
            focus_row("gpt 4o 0806 Outp glbl Tokens", "5.00", "1", resource=AOAI + "-2")]
    month = read(export_text(FOCUS_1_2, rows))
    assert (month.rows_kept, month.total_cost) == (1, Decimal("1.00"))


def test_a_correction_of_last_month_invoiced_this_month_belongs_to_this_month():
    correction = focus_row("gpt 4o 0806 Outp glbl Tokens", "-1.50", "-150", day="2026-09-20")
    correction.update(ChargeClass="Correction", BillingPeriodStart="2026-10-01T00:00:00Z")
    usage = focus_row("gpt 4o 0806 Outp glbl Tokens", "10.00", "1000")
    month = read(export_text(FOCUS_1_2, [usage, correction]))
    assert (month.rows_kept, month.total_cost) == (2, Decimal("8.50"))
    correction["BillingPeriodStart"] = "2026-09-01T00:00:00Z"     # invoiced last month: not this month's
    assert refusal(export_text(FOCUS_1_2, [usage, correction])).line == 3


def test_an_export_in_parts_reads_as_one():
    rows = [focus_row(m, c, q, resource=r) for m, c, q, r in HAND_ROWS]
    meter, cost, hours, resource = HAND_PTU
    rows.append(focus_row(meter, cost, hours, resource=resource, unit="1 Hour"))
    parts = [("part_0_0001.csv", io.BytesIO(export_text(FOCUS_1_2, rows[:3]).encode())),
             ("part_0_0002.csv", io.BytesIO(export_text(FOCUS_1_2, rows[3:]).encode()))]
    whole = read(focus_text())
    split = read_month_actuals_parts(parts, "2026-10", CONFIG)
    assert (split.mapped, split.unmapped, split.rows_read) == (whole.mapped, whole.unmapped, whole.rows_read)
    assert split.source == "part_0_0001.csv + part_0_0002.csv" and split.content_sha256 != whole.content_sha256
    mixed = [("a.csv", io.BytesIO(focus_text().encode())), ("b.csv", io.BytesIO(cost_details_text("EA").encode()))]
    with pytest.raises(InvalidExport, match=re.escape("b.csv: is EA cost details, but a.csv is FOCUS 1.2")):
        read_month_actuals_parts(mixed, "2026-10", CONFIG)
