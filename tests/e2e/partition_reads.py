"""Counting the usage rows a month-to-date refresh reads (chargeback/storage/usage_delta), per partition."""
from __future__ import annotations

from chargeback.storage.usage_delta import KEY_COLUMNS, PartitionReader


def count_partition_reads(monkeypatch, whole: list[str], keys: list[str] | None = None) -> None:
    """Append a row's partition to ``whole`` for each row read with its columns and to ``keys`` (default:
    ``whole`` too) for each row of the margin window read as key and ETag only."""
    keys = whole if keys is None else keys
    rows = PartitionReader._rows

    def counted(self, partition, where, select):
        for row in rows(self, partition, where, select):
            (keys if select == KEY_COLUMNS else whole).append(partition)
            yield row

    monkeypatch.setattr(PartitionReader, "_rows", counted)
