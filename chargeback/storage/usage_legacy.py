"""Rows of the first partition-key scheme, ``{month}~{subscription}~{shard}``: still read, counted once.

A record stored before the key changed and redelivered after it has two rows: its legacy row and a row
under the current key (``usage_table.partition_key``). The current row wins: a legacy row is skipped when
its record also has a current row. Only legacy partitions pay for the check (point queries of 14 row keys;
Table Storage allows at most 15 discrete comparisons in one $filter, "Querying tables and entities").
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from azure.data.tables import TableClient

from chargeback.usage.record import UsageRecord

KEYS_PER_QUERY = 14   # + the PartitionKey comparison: 15


def current_rows(table: TableClient, partition: str, row_keys: list[str]) -> set[str]:
    """Which of ``row_keys`` have a row in ``partition``."""
    found: set[str] = set()
    for start in range(0, len(row_keys), KEYS_PER_QUERY):
        keys = row_keys[start:start + KEYS_PER_QUERY]
        parameters = {"p": partition, **{f"r{i}": key for i, key in enumerate(keys)}}
        # The SDK substitutes @names only between spaces (azure/data/tables/_serialize._parameter_filter_substitution).
        rows_filter = " or ".join(f"RowKey eq @r{i}" for i in range(len(keys)))
        found.update(row["RowKey"] for row in table.query_entities(
            f"PartitionKey eq @p and ( {rows_filter} )", parameters=parameters, select=["RowKey"]))
    return found


def not_rewritten(table: TableClient, records: Iterable[UsageRecord],
                  current_key: Callable[[UsageRecord], str], chunk: int = 500) -> Iterator[UsageRecord]:
    """The legacy ``records`` whose record has no row under the current key scheme."""
    it = iter(records)
    while batch := list(islice(it, chunk)):
        by_partition: dict[str, list[str]] = defaultdict(list)
        for record in batch:
            by_partition[current_key(record)].append(record.record_id)
        rewritten = {key for pk, keys in by_partition.items() for key in current_rows(table, pk, keys)}
        yield from (record for record in batch if record.record_id not in rewritten)
