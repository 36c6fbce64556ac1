"""Raw usage records in Table Storage: idempotent, batched in full transactions, sharded per month.

PartitionKey ``{YYYY-MM}~{shard}`` (shard: which slice of the month) lets the invoicing run read a month in
parallel shards; RowKey is the record id, so redelivery rewrites the same rows. Rows of the first scheme,
``{YYYY-MM}~{subscription}~{shard}``, still read back; a record stored under both counts once (the new row).
Meters are one Edm.Int64 column each (rows from before meters have text token columns and still read back).
A small index table lists each month's partitions, because Table Storage cannot list them.
"""
from __future__ import annotations

import calendar
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from azure.data.tables import EdmType, EntityProperty, TableClient

from chargeback.storage import table_json
from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.batch_wire import submit_upserts
from chargeback.storage.entity_groups import transactions
from chargeback.storage.refusals import Entity, Refused, submit_or_split
from chargeback.storage.stamp_rounds import StampRounds
from chargeback.storage.usage_legacy import not_rewritten
from chargeback.usage.meters import FIELDS, NO_USAGE, TOKEN_METERS, MeterQuantities
from chargeback.usage.record import UsageRecord

USAGE_TABLE = "UsageRecords"
PARTITION_INDEX_TABLE = "UsagePartitions"
Submit = Callable[..., None]   # (table, rows, **request options): one upsert transaction
_KEY_SAFE = re.compile(r"^[A-Za-z0-9._:@=+-]{1,200}$")


def subscription_key(subscription: str) -> str:
    """The subscription as it may appear in a key ('/', '\\\\', '#', '?' are not allowed there)."""
    if _KEY_SAFE.fullmatch(subscription):
        return subscription
    return "h-" + hashlib.sha256(subscription.encode("utf-8")).hexdigest()[:32]


# Fixed, not a setting: with another count a redelivered event would land in another partition, stored twice.
SLICES_PER_MONTH = 16


def partition_key(record: UsageRecord, shards: int) -> str:
    """Month and a slice of the month by event time: a pure function of the record (a redelivered record
    lands on its own row again), and calls that arrive together share one partition whatever their
    subscription, so an Event Hub batch fills entity-group transactions (100 rows each) instead of one
    small transaction per subscription. A month still reads as ``shards`` parallel slices; month reads
    never needed the subscription in the key (they read the whole month)."""
    ts = record.timestamp
    shard = ((ts.day - 1) * 24 + ts.hour) * shards // _month_hours(ts.year, ts.month)
    return f"{ts.year:04d}-{ts.month:02d}~{shard:02d}"   # record.month, then the slice


@cache
def _month_hours(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1] * 24


def legacy_partition(partition: str) -> bool:
    """A partition of the first key scheme, ``{month}~{subscription}~{shard}`` (read, never written)."""
    return partition.count("~") == 2


# One column per meter (zero meters left out). Token and character counts are written as Edm.Int64:
# a plain Python int is sent as Edm.Int32 and the SDK refuses one >= 2**31 (azure-data-tables
# _serialize._to_entity_int32), while a month of one deployment can pass that. audio_seconds is an
# exact decimal, kept as text.
METER_COLUMNS = {meter: "".join(part.title() for part in meter.split("_")) + ("Tokens" if meter in TOKEN_METERS
                                                                              or meter == "reasoning" else "")
                 for meter in FIELDS}
# The first release's text token columns (rows written before meters): read back as text meters.
TOKEN_COLUMNS = ["PromptTokens", "CachedTokens", "CompletionTokens", "ReasoningTokens"]


def record_to_entity(record: UsageRecord, shards: int) -> dict[str, Any]:
    """The row of a record; empty texts and zero counts are left out (read back as their defaults)."""
    entity: dict[str, Any] = {
        "PartitionKey": partition_key(record, shards), "RowKey": record.record_id,
        "EventTime": record.timestamp, "Subscription": record.subscription,
        "StatusCode": record.status_code, "Stream": record.stream, "Metered": record.metered,
        "SchemaVersion": record.schema_version,
    }
    for name, field in _TEXT_COLUMNS:
        if value := getattr(record, field):
            entity[name] = value
    if record.tags:
        entity["Tags"] = ",".join(record.tags)
    for column, quantity in zip(_COLUMNS_IN_FIELD_ORDER, record.meters.values(), strict=True):
        if quantity:
            entity[column] = str(quantity) if quantity.__class__ is Decimal else EntityProperty(quantity, EdmType.INT64)
    return entity


_TEXT_COLUMNS = (("SubscriptionName", "subscription_name"), ("Product", "product"), ("Deployment", "deployment"),
                 ("Model", "model"), ("Operation", "operation"), ("ApiVersion", "api_version"), ("Region", "region"),
                 ("Path", "path"), ("EndUser", "end_user"), ("ServedDeployment", "served_deployment"))
_COLUMNS_IN_FIELD_ORDER = tuple(METER_COLUMNS[meter] for meter in FIELDS)


# What aggregation needs; reading only these columns keeps the monthly scan lean.
AGGREGATION_COLUMNS = ["RowKey", "EventTime", "Subscription", "Deployment", "Model", "Stream", "Metered",
                       "SchemaVersion",   # 3: metered from gateway logs (UsageRecord.source)
                       "ServedDeployment", "EndUser", "Tags",
                       *TOKEN_COLUMNS, *(column for column in METER_COLUMNS.values() if column not in TOKEN_COLUMNS)]


def _count(entity: dict[str, Any], column: str) -> int:
    value = entity.get(column)
    if value is None:   # absent, or null where a select named a column the row does not have
        return 0
    return int(value.value if isinstance(value, EntityProperty) else value)   # Int64 reads back wrapped


def entity_meters(entity: dict[str, Any]) -> MeterQuantities:
    """A row's meters: its meter columns, or, for a row from before meters, its text token columns."""
    if entity.get("PromptTokens") is not None:
        prompt, cached, completion, reasoning = (_count(entity, column) for column in TOKEN_COLUMNS)
        return MeterQuantities.from_text_tokens(prompt, cached, completion, reasoning)
    values: dict[str, int | Decimal] = {}
    for meter, column in METER_COLUMNS.items():
        if entity.get(column) is not None:
            values[meter] = Decimal(entity[column]) if meter == "audio_seconds" else _count(entity, column)
    return MeterQuantities(**values) if values else NO_USAGE  # type: ignore[arg-type]


def entity_to_record(entity: dict[str, Any]) -> UsageRecord:
    at = entity["EventTime"]   # the SDK's TablesEntityDatetime: made a plain aware datetime
    return UsageRecord(
        record_id=entity["RowKey"], timestamp=datetime(at.year, at.month, at.day, at.hour, at.minute, at.second,
                                                       at.microsecond, tzinfo=UTC),
        subscription=entity["Subscription"], deployment=entity.get("Deployment", ""),
        meters=entity_meters(entity), path=entity.get("Path", ""),
        metered=entity.get("Metered", True), stream=entity.get("Stream", False), model=entity.get("Model", ""),
        subscription_name=entity.get("SubscriptionName", ""), product=entity.get("Product", ""),
        operation=entity.get("Operation", ""), api_version=entity.get("ApiVersion", ""),
        region=entity.get("Region", ""), status_code=entity.get("StatusCode", 200),
        schema_version=entity.get("SchemaVersion", 2), end_user=entity.get("EndUser") or "",
        tags=tuple(entity["Tags"].split(",")) if entity.get("Tags") else (),
        served_deployment=entity.get("ServedDeployment") or "",
    )


class RowsRefused(Exception):
    """Storage refused rows (not an outage); ``refused`` pairs each row with storage's reason."""

    def __init__(self, refused: Refused):
        self.refused = refused
        super().__init__(f"storage refused {len(refused)} row(s): {refused[0][1]}")


class UsageStore:
    """Writes and reads usage records; every write is an idempotent upsert."""

    def __init__(self, account: StorageAccount, shards: int = SLICES_PER_MONTH, workers: int = 8,
                 submit: Submit | None = None):
        self.account = account
        self.shards = shards
        self.submit: Submit = submit or submit_upserts   # batch_wire.sdk_submit: the library's own (benchmarks)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="usage-write")
        self._indexed: set[str] = set()  # partitions this process has indexed already: skip re-writing them
        self._indexing = threading.Lock()   # concurrent batches (one per Event Hub partition) index a row once
        self._stamps = StampRounds(self._write_stamps)   # their stamps share rounds (storage/stamp_rounds)

    @property
    def table(self) -> TableClient:
        return self.account.table(USAGE_TABLE)

    @property
    def index(self) -> TableClient:
        return self.account.table(PARTITION_INDEX_TABLE)

    def write(self, records: Iterable[UsageRecord]) -> int:
        """Upsert the records (replace mode) in parallel transactions; raises StorageUnavailable on an
        outage and RowsRefused if storage refused some rows (the others are stored)."""
        stored, refused = self.write_checked(records)
        if refused:
            raise RowsRefused([(e, reason) for e, reason in refused])
        return stored

    def write_checked(self, records: Iterable[UsageRecord]) -> tuple[int, Refused]:
        """As ``write``, but the rows storage refused come back with its reason instead of raising."""
        entities = []
        refused: Refused = []
        for record in records:
            try:
                entities.append(record_to_entity(record, self.shards))
            except (TypeError, ValueError, OverflowError) as error:   # not representable as a row
                refused.append(({"RowKey": record.record_id}, f"storage refused the record: {error}"[:300]))
        # Index first: a batch cut short by an outage must still leave its partitions findable.
        touched = {e["PartitionKey"] for e in entities}
        self._index_partitions(touched)
        try:
            stored, more = self._write_entities(entities)
        finally:
            self._stamps.stamp(touched)   # after the rows: see _write_stamps
        return stored, refused + more

    def write_entities(self, entities: list[Entity]) -> int:
        stored, refused = self._write_entities(entities)
        if refused:
            raise RowsRefused(refused)
        return stored

    def _write_entities(self, entities: list[Entity]) -> tuple[int, Refused]:
        table = self.table
        chunks = transactions(entities)
        refused: Refused = []
        with storage_errors("writing usage records"):
            for rows in self._pool.map(lambda chunk: submit_or_split(
                    lambda c: _submit(table, c, self.submit), chunk), chunks):
                refused.extend(rows)
        return sum(len(c) for c in chunks) - len(refused), refused

    def _index_partitions(self, partitions: set[str]) -> None:
        with self._indexing:
            new = sorted(partitions - self._indexed)
            rows = [{"PartitionKey": pk.split("~", 1)[0], "RowKey": pk} for pk in new]
            with storage_errors("indexing usage partitions"):
                for chunk in transactions(rows):
                    _submit(self.index, chunk, self.submit)
            self._indexed.update(new)

    def _write_stamps(self, partitions: set[str]) -> None:
        """After the rows (``_stamps.stamp``): re-write each touched partition's index row, so its ETag changes.
        A month-to-date refresh that read a partition under an older ETag reads it again (storage/rollup_store)."""
        rows = [{"PartitionKey": pk.split("~", 1)[0], "RowKey": pk, "LastWritten": datetime.now(UTC)}
                for pk in sorted(partitions)]
        with storage_errors("stamping usage partitions"):
            for chunk in transactions(rows):
                _submit(self.index, chunk, self.submit)

    def watermarks(self, month: str) -> dict[str, str]:
        """Every partition of the month with its index row's ETag: it changes whenever rows are written there."""
        with storage_errors(f"listing usage partitions of {month}"):   # each refresh: plain JSON (table_json)
            rows = table_json.query(self.index, f"PartitionKey eq {table_json.literal(month)}", "RowKey")
            return {row["RowKey"]: row["odata.etag"] for row in rows}

    def partitions(self, month: str) -> list[str]:
        """Every usage partition of the month (``YYYY-MM``), sorted."""
        with storage_errors(f"listing usage partitions of {month}"):
            rows = self.index.query_entities("PartitionKey eq @m", parameters={"m": month}, select=["RowKey"])
            return sorted(row["RowKey"] for row in rows)

    def read_partition(self, partition: str, columns: list[str] | None = None) -> Iterator[UsageRecord]:
        """Stream one partition's records (only ``columns`` are read; default: what aggregation needs)."""
        with storage_errors(f"reading usage partition {partition}"):
            rows = self.table.query_entities("PartitionKey eq @p", parameters={"p": partition},
                                             select=columns or AGGREGATION_COLUMNS)
            records: Iterator[UsageRecord] = (entity_to_record(entity) for entity in rows)
            if legacy_partition(partition):
                records = not_rewritten(self.table, records, lambda r: partition_key(r, self.shards))
            yield from records

    def count(self, month: str | None = None) -> int:
        """Stored records of the month (default: of every indexed month), each once, as reads see them: a
        record with rows under both key schemes counts once (usage_legacy)."""
        with storage_errors("counting usage records"):
            months = [month] if month is not None else sorted(
                {row["PartitionKey"] for row in self.index.list_entities(select=["PartitionKey"])})
            return sum(self._count_partition(p) for m in months for p in self.partitions(m))

    def _count_partition(self, partition: str) -> int:
        if legacy_partition(partition):   # its rows rewritten under the current key are counted there
            return sum(1 for _ in self.read_partition(partition, columns=["RowKey", "EventTime", "Subscription"]))
        return sum(1 for _ in self.table.query_entities("PartitionKey eq @p", parameters={"p": partition},
                                                         select=["RowKey"]))


# azure-core's RetryPolicy retries a connection error only for the methods in its allow-list, which leaves out
# POST (azure/core/pipeline/policies/_retry.py: _is_method_retryable, keyword ``retry_on_methods``). A $batch
# of upserts (replace mode) is idempotent, so its POST may be retried; passed per request, only $batch.
BATCH_RETRY_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"})


def _submit(table: TableClient, chunk: list[Entity], submit: Submit = submit_upserts) -> None:
    """One upsert transaction (chargeback/storage/batch_wire: a lean body through the client's pipeline)."""
    submit(table, chunk, retry_on_methods=BATCH_RETRY_METHODS)
