"""Counting the usage rows a month-to-date refresh reads (chargeback/storage/usage_delta), per partition."""
from __future__ import annotations

from chargeback.storage.usage_delta import PartitionReader


def count_partition_reads(monkeypatch, reads: list[str]) -> None:
    """Append a row's partition to ``reads`` for each usage row the refresh's reader returns."""
    rows = PartitionReader._rows

    def counted(self, partition, where, select):
        for row in rows(self, partition, where, select):
            reads.append(partition)
            yield row

    monkeypatch.setattr(PartitionReader, "_rows", counted)
