"""The FOCUS 1.2 metadata of the month's export, written next to it as ``{month}/focus-metadata.json``.

What FOCUS 1.2 requires, quoted from FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec at tag v1.2,
specification/metadata/:
- metadata.mdpp: "FOCUS Metadata SHOULD be provided in a format that is accessible programmatically, such as
  a file"; it holds the data generator and the schema.
- data_generator/datagenerator.md: "The DataGenerator MUST be provided ... of type String"; "SHOULD be easily
  associated with the provider who generated the FOCUS dataset": the issuer, the export's ``ProviderName``.
- schema/schemaid.md: "The SchemaId MUST be present ... It is RECOMMENDED for SchemaId to be a Globally
  Unique Identifier (GUID)". schema/schema.mdpp: "Should the provider change the structure of the supplied
  FOCUS data artifact, a new schema metadata object MUST be supplied". So the id is a UUID 5 of the column
  definitions and the FOCUS version: the same structure keeps its id, any change to it gets a new one.
- schema/creationdate.md: "CreationDate MUST be present ... MUST conform to DateTimeFormat"
  (attributes/datetime_format.md: 'YYYY-MM-DDTHH:mm:ssZ', UTC): the run's issue date, so a rerun of the
  step writes the same document.
- schema/focusversion.md: "FocusVersion MUST match the version of the FOCUS specification that the FOCUS
  dataset conforms to": "1.2".
- schema/column_definition/: "a list of the columns present in the FOCUS dataset", each with ``ColumnName``
  and ``DataType`` (MUST); "The ProviderTagPrefixes MUST be provided when ColumnName is equal to Tags" (an
  array of strings); ``StringEncoding`` SHOULD be given when needed to read the data (the CSV is UTF-8).
  NumericPrecision / NumberScale are SHOULDs and not given (numbers are written to 18 places at most).
- The data types are spelt as in appendix/metadata_examples/schema_metadata_example.md (``STRING``,
  ``DATETIME``, ``DECIMAL``, ``JSON``), per the columns' own definitions (specification/columns/*.md: the
  costs and quantities "Decimal", the periods "Date/Time", ``Tags`` and ``SkuPriceDetails`` "JSON", the
  rest "String"); attributes/numeric_format.md allows "Integer" or "Decimal" for numeric columns: the
  request counts are ``INTEGER``.
- schema.mdpp: a data artifact "MUST provide a clear reference to the schema ... retrievable without
  inspection of the contents": ``data_location`` names the CSV this metadata describes, like
  appendix/metadata_examples/schema_metadata_reference_example.md.

The columns are ``focus.COLUMNS`` (the CSV's header) and the numeric ones ``focus.NUMERIC``: one source of
truth; the prefix is ``focus.TAG_PREFIX``.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from chargeback.documents.focus import COLUMNS, NUMERIC, TAG_PREFIX

FOCUS_VERSION = "1.2"
METADATA_NAME = "focus-metadata.json"
ENCODING = "UTF-8"
_DATETIME = frozenset({"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"})
_JSON = frozenset({"Tags", "SkuPriceDetails"})
_INTEGER = frozenset({"x_Requests", "x_UnmeteredRequests"})   # request counts, written from ints
# A fixed namespace for the schema ids (uuid5 of the column definitions): same structure, same id.
_SCHEMA_NAMESPACE = uuid.UUID("6f1c2e0a-4b7d-5c3e-9a8f-1d2e3f4a5b6c")
if not set(COLUMNS) >= (_DATETIME | _JSON | _INTEGER) or not NUMERIC >= _INTEGER:
    raise RuntimeError("focus_metadata names a column the FOCUS export does not write")   # caught on import


def data_type(column: str) -> str:
    if column in _INTEGER:
        return "INTEGER"
    if column in NUMERIC:
        return "DECIMAL"
    if column in _DATETIME:
        return "DATETIME"
    return "JSON" if column in _JSON else "STRING"


def column_definitions() -> list[dict[str, Any]]:
    """One definition per column of the export, in the CSV's order."""
    definitions: list[dict[str, Any]] = []
    for column in COLUMNS:
        kind = data_type(column)
        definition: dict[str, Any] = {"ColumnName": column, "DataType": kind}
        if kind in ("STRING", "JSON"):
            definition["StringEncoding"] = ENCODING
        if column == "Tags":
            definition["ProviderTagPrefixes"] = [TAG_PREFIX]
        definitions.append(definition)
    return definitions


def schema_id(definitions: list[dict[str, Any]]) -> str:
    canonical = json.dumps({"FocusVersion": FOCUS_VERSION, "ColumnDefinition": definitions}, sort_keys=True)
    return str(uuid.uuid5(_SCHEMA_NAMESPACE, canonical))


def render_focus_metadata(generator: str, created: datetime, export_path: str, export_bytes: int) -> bytes:
    """The metadata of the export at ``export_path`` (``export_bytes`` long) written at ``created``."""
    definitions = column_definitions()
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {"DataGenerator": generator, "SchemaId": schema_id(definitions), "FocusVersion": FOCUS_VERSION,
                "CreationDate": stamp, "ColumnDefinition": definitions,
                "data_location": [{"filepath": export_path, "total_bytes": export_bytes}]}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
