"""Entity-group transactions: rows grouped by partition within Table Storage's limits.

Table Storage's limits for one transaction ("Performing entity group transactions",
learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions): one partition, at most
100 operations, a body of at most 4 MiB, and no entity twice.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from chargeback.storage.refusals import MAX_TRANSACTION_BYTES, Entity, entity_bytes

MAX_TRANSACTION = 100  # Table Storage's limit of operations in one entity-group transaction


def transactions(entities: Iterable[Entity], max_bytes: int = MAX_TRANSACTION_BYTES) -> list[list[Entity]]:
    """Group entities into entity-group transactions: one partition, at most 100 rows and ``max_bytes``
    of body, no repeated row."""
    by_partition: dict[str, dict[str, Entity]] = defaultdict(dict)
    for entity in entities:
        by_partition[entity["PartitionKey"]][entity["RowKey"]] = entity  # last copy of a duplicate wins
    chunks: list[list[Entity]] = []
    for rows in by_partition.values():
        chunk: list[Entity] = []
        size = 0
        for entity in rows.values():
            grows = entity_bytes(entity)
            if chunk and (len(chunk) == MAX_TRANSACTION or size + grows > max_bytes):
                chunks.append(chunk)
                chunk, size = [], 0
            chunk.append(entity)
            size += grows
        if chunk:
            chunks.append(chunk)
    return chunks
