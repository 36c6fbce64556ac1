"""Raw usage records in Table Storage: idempotent, batched, sharded per month and subscription.

PartitionKey ``{YYYY-MM}~{subscription}~{shard}`` (shard: which slice of the month) lets the invoicing run read one month of one
subscription in parallel shards; RowKey is the record id, so redelivery rewrites the same rows.
A small index table lists each month's partitions, because Table Storage cannot list them.
"""
from __future__ import annotations

import calendar
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from azure.data.tables import UpdateMode

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.usage.record import UsageRecord

USAGE_TABLE = "UsageRecords"
PARTITION_INDEX_TABLE = "UsagePartitions"
MAX_TRANSACTION = 100  # Table Storage's limit of operations in one entity-group transaction
_KEY_SAFE = re.compile(r"^[A-Za-z0-9._:@=+-]{1,200}$")


def subscription_key(subscription: str) -> str:
    """The subscription as it may appear in a key ('/', '\\\\', '#', '?' are not allowed there)."""
    if _KEY_SAFE.fullmatch(subscription):
        return subscription
    return "h-" + hashlib.sha256(subscription.encode("utf-8")).hexdigest()[:32]


def partition_key(record: UsageRecord, shards: int) -> str:
    """Month, subscription, and a shard by time of month: a function of the record alone (so redelivery
    finds the same row), and calls that arrive together share a partition (so a batch makes few, full
    transactions) while a month still reads as ``shards`` parallel slices."""
    ts = record.timestamp
    days = calendar.monthrange(ts.year, ts.month)[1]
    shard = (ts.day - 1) * shards // days
    return f"{record.month}~{subscription_key(record.subscription)}~{shard:02d}"


def record_to_entity(record: UsageRecord, shards: int) -> dict:
    """The row of a record; empty texts and zero counts are left out (read back as their defaults)."""
    entity = {
        "PartitionKey": partition_key(record, shards), "RowKey": record.record_id,
        "EventTime": record.timestamp, "Subscription": record.subscription,
        "StatusCode": record.status_code, "Stream": record.stream, "Metered": record.metered,
        "PromptTokens": record.prompt_tokens, "CompletionTokens": record.completion_tokens,
        "SchemaVersion": record.schema_version,
    }
    for name, value in (("SubscriptionName", record.subscription_name), ("Product", record.product),
                        ("Deployment", record.deployment), ("Model", record.model),
                        ("Operation", record.operation), ("ApiVersion", record.api_version),
                        ("Region", record.region), ("CachedTokens", record.cached_tokens),
                        ("ReasoningTokens", record.reasoning_tokens)):
        if value:
            entity[name] = value
    return entity


# What aggregation needs; reading only these columns keeps the monthly scan lean.
AGGREGATION_COLUMNS = ["RowKey", "EventTime", "Subscription", "Deployment", "Model", "Stream", "Metered",
                       "PromptTokens", "CachedTokens", "CompletionTokens", "ReasoningTokens"]


def entity_to_record(entity: dict) -> UsageRecord:
    timestamp = entity["EventTime"]
    return UsageRecord(
        record_id=entity["RowKey"], timestamp=datetime(*timestamp.timetuple()[:6], timestamp.microsecond,
                                                        tzinfo=UTC),
        subscription=entity["Subscription"], deployment=entity.get("Deployment", ""),
        prompt_tokens=entity.get("PromptTokens", 0), cached_tokens=entity.get("CachedTokens", 0),
        completion_tokens=entity.get("CompletionTokens", 0), reasoning_tokens=entity.get("ReasoningTokens", 0),
        metered=entity.get("Metered", True), stream=entity.get("Stream", False), model=entity.get("Model", ""),
        subscription_name=entity.get("SubscriptionName", ""), product=entity.get("Product", ""),
        operation=entity.get("Operation", ""), api_version=entity.get("ApiVersion", ""),
        region=entity.get("Region", ""), status_code=entity.get("StatusCode", 200),
        schema_version=entity.get("SchemaVersion", 2),
    )


def transactions(entities: Iterable[dict]) -> list[list[dict]]:
    """Group entities into entity-group transactions: one partition, at most 100, no repeated row."""
    by_partition: dict[str, dict[str, dict]] = defaultdict(dict)
    for entity in entities:
        by_partition[entity["PartitionKey"]][entity["RowKey"]] = entity  # last copy of a duplicate wins
    chunks = []
    for rows in by_partition.values():
        values = list(rows.values())
        chunks.extend(values[i:i + MAX_TRANSACTION] for i in range(0, len(values), MAX_TRANSACTION))
    return chunks


class UsageStore:
    """Writes and reads usage records; every write is an idempotent upsert."""

    def __init__(self, account: StorageAccount, shards: int = 4, workers: int = 8):
        self.account = account
        self.shards = shards
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="usage-write")
        self._indexed: set[str] = set()  # partitions this process has indexed already: skip re-writing them

    @property
    def table(self):
        return self.account.table(USAGE_TABLE)

    @property
    def index(self):
        return self.account.table(PARTITION_INDEX_TABLE)

    def write(self, records: Iterable[UsageRecord]) -> int:
        """Upsert the records (replace mode) in parallel transactions; raises StorageUnavailable."""
        entities = [record_to_entity(r, self.shards) for r in records]
        # Index first: a batch cut short by an outage must still leave its partitions findable.
        self._index_partitions({e["PartitionKey"] for e in entities})
        return self.write_entities(entities)

    def write_entities(self, entities: list[dict]) -> int:
        table = self.table
        chunks = transactions(entities)
        with storage_errors("writing usage records"):
            for _ in self._pool.map(lambda chunk: _submit(table, chunk), chunks):
                pass
        return sum(len(c) for c in chunks)

    def _index_partitions(self, partitions: set[str]) -> None:
        new = sorted(partitions - self._indexed)
        if not new:
            return
        rows = [{"PartitionKey": pk.split("~", 1)[0], "RowKey": pk} for pk in new]
        index = self.index
        with storage_errors("indexing usage partitions"):
            for chunk in transactions(rows):
                _submit(index, chunk)
        self._indexed.update(new)

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
            for entity in rows:
                yield entity_to_record(entity)

    def count(self, month: str | None = None) -> int:
        with storage_errors("counting usage records"):
            if month is None:
                return sum(1 for _ in self.table.list_entities(select=["RowKey"]))
            return sum(sum(1 for _ in self.table.query_entities("PartitionKey eq @p", parameters={"p": p},
                                                                 select=["RowKey"]))
                       for p in self.partitions(month))


def _submit(table, chunk: list[dict]) -> None:
    table.submit_transaction([("upsert", entity, {"mode": UpdateMode.REPLACE}) for entity in chunk])
