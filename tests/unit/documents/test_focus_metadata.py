"""The FOCUS 1.2 metadata of the export (documents/focus_metadata.py), judged against the CSV it describes and
against a JSON Schema written here from the spec's MUSTs (FOCUS_Spec v1.2, specification/metadata/; the spec
repository publishes no JSON Schema of its own)."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import jsonschema

from chargeback.billing.pricing import price_month
from chargeback.documents import focus_metadata
from chargeback.documents.focus import render_focus_csv
from chargeback.documents.focus_metadata import render_focus_metadata
from chargeback.usage.aggregation import aggregate_month
from tests.fixtures.invoice_inputs import meta
from tests.unit.documents.test_focus_attribution import CONFIG, PAYG, POOL, call

# "MUST be provided" / "MUST be of type String" / "MUST NOT contain null values" of DataGenerator, SchemaId,
# CreationDate (DateTimeFormat 'YYYY-MM-DDTHH:mm:ssZ'), FocusVersion (one of the published versions) and the
# column definitions (ColumnName, DataType); "ProviderTagPrefixes MUST be provided when ColumnName is equal
# to Tags", "of type Array of Strings".
SPEC = {
    "type": "object",
    "required": ["DataGenerator", "SchemaId", "FocusVersion", "CreationDate", "ColumnDefinition"],
    "properties": {
        "DataGenerator": {"type": "string", "minLength": 1},
        "SchemaId": {"type": "string", "minLength": 1},
        "FocusVersion": {"enum": ["1.0", "1.1", "1.2"]},
        "CreationDate": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"},
        "ColumnDefinition": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["ColumnName", "DataType"],
            "additionalProperties": {"not": {"type": "null"}},
            "properties": {"ColumnName": {"type": "string"}, "DataType": {"type": "string"},
                           "ProviderTagPrefixes": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                           "StringEncoding": {"type": "string"}},
            "if": {"properties": {"ColumnName": {"const": "Tags"}}},
            "then": {"required": ["ProviderTagPrefixes"]}}},
    },
}
WHEN = datetime(2026, 11, 2, tzinfo=UTC)


def month_export() -> bytes:
    records = [*PAYG, *POOL, *(call(10 + n, 1_000 * n, 10 * n, user=f"user-{n}", tags=(f"team=t{n % 3}",))
                               for n in range(1, 15))]
    usage = aggregate_month("2026-10", records)
    return render_focus_csv(price_month("2026-10", usage, CONFIG), meta(), usage.attribution.lines)


def metadata_of(data: bytes) -> dict:
    return json.loads(render_focus_metadata("Contoso AI Platform", WHEN, "exports/2026-10/focus.csv", len(data)))


def test_the_metadata_meets_the_specs_musts_and_names_the_export():
    data = month_export()
    document = metadata_of(data)
    jsonschema.validate(document, SPEC)
    assert (document["FocusVersion"], document["CreationDate"]) == ("1.2", "2026-11-02T00:00:00Z")
    assert document["data_location"] == [{"filepath": "exports/2026-10/focus.csv", "total_bytes": len(data)}]
    uuid.UUID(document["SchemaId"])   # a GUID, as the spec recommends
    broken = {**document, "ColumnDefinition": [{"ColumnName": "Tags", "DataType": "JSON"}]}
    assert not jsonschema.Draft202012Validator(SPEC).is_valid(broken)   # the oracle can fail


def test_the_columns_are_the_csvs_header_in_its_order():
    data = month_export()
    header = next(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert [c["ColumnName"] for c in metadata_of(data)["ColumnDefinition"]] == header
    assert len(set(header)) == len(header) > 40 and "Tags" in header


def test_the_data_types_are_the_specs_and_hold_for_every_written_value():
    data = month_export()
    types = {c["ColumnName"]: c["DataType"] for c in metadata_of(data)["ColumnDefinition"]}
    # specification/columns/*.md "Data type": Decimal, Date/Time, JSON, String; the counts are whole numbers.
    assert {k: types[k] for k in ("BilledCost", "PricingQuantity", "ChargePeriodStart", "BillingPeriodEnd", "Tags",
                                  "SkuPriceDetails", "x_Requests", "ChargeDescription", "InvoiceId")} == {
        "BilledCost": "DECIMAL", "PricingQuantity": "DECIMAL", "ChargePeriodStart": "DATETIME",
        "BillingPeriodEnd": "DATETIME", "Tags": "JSON", "SkuPriceDetails": "JSON", "x_Requests": "INTEGER",
        "ChargeDescription": "STRING", "InvoiceId": "STRING"}
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) > 20
    for row in rows:
        for column, value in row.items():
            if value == "":
                continue   # null
            if types[column] == "DECIMAL":
                Decimal(value)
            elif types[column] == "INTEGER":
                assert re.fullmatch(r"-?\d+", value), (column, value)
            elif types[column] == "DATETIME":
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value), (column, value)
            elif types[column] == "JSON":
                assert isinstance(json.loads(value), dict), (column, value)


def test_the_provider_prefix_starts_every_provider_key_and_no_user_key():
    data = month_export()
    [tags] = [c for c in metadata_of(data)["ColumnDefinition"] if c["ColumnName"] == "Tags"]
    assert tags["ProviderTagPrefixes"] == ["chargeback/"]
    keys = {key for row in csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
            for key in json.loads(row["Tags"])}
    # the keys the export's code writes as provider-defined (focus.py, focus_attribution.py), and the calls' own
    provider = {"chargeback/department", "chargeback/costCenter", "chargeback/endUser", "chargeback/meteredBy",
                "chargeback/attribution"}
    assert provider <= keys and "team" in keys and "app" in keys
    prefixes = tuple(tags["ProviderTagPrefixes"])
    assert {k for k in keys if k.startswith(prefixes)} == provider   # all provider keys, and no user key


def test_the_schema_id_stays_with_the_structure_and_changes_with_it(monkeypatch):
    data = month_export()
    first = metadata_of(data)["SchemaId"]
    later = json.loads(render_focus_metadata("Other", WHEN + timedelta(days=40), "x.csv", 1))["SchemaId"]
    assert later == first
    monkeypatch.setattr(focus_metadata, "COLUMNS", (*focus_metadata.COLUMNS, "x_New"))
    assert metadata_of(data)["SchemaId"] != first


def test_the_creation_date_is_written_in_utc():
    local = datetime(2026, 11, 2, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    document = json.loads(render_focus_metadata("G", local, "x.csv", 0))
    assert document["CreationDate"] == "2026-11-01T23:30:00Z"
