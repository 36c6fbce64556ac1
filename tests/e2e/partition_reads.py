"""Counting the usage rows a month-to-date refresh reads (chargeback/storage/usage_delta), per partition."""
from __future__ import annotations

from chargeback.storage.usage_delta import PartitionReader


def count_partition_reads(monkeypatch, whole: list[str], keys: list[str] | None = None) -> None:
    """Append a row's partition to ``whole`` for each row read with its columns and to ``keys`` (default:
    ``whole`` too) for each row of the margin window read as key and ETag only."""
    keys = whole if keys is None else keys
    query, versions = PartitionReader._query, PartitionReader._versions

    def counted_query(self, text, parameters, select):
        for entity in query(self, text, parameters, select):
            whole.append(parameters["p"])
            yield entity

    def counted_versions(self, partition, since, latest):
        for row in versions(self, partition, since, latest):
            keys.append(partition)
            yield row

    monkeypatch.setattr(PartitionReader, "_query", counted_query)
    monkeypatch.setattr(PartitionReader, "_versions", counted_versions)
