"""Month-to-date rollups: each usage partition's aggregate as of a watermark, their merged sum, and the
month priced so far.

Table ``UsageRollups`` holds one row per usage partition (PartitionKey the month, RowKey the partition) with
the partition-index ETag it was read under (chargeback/storage/usage_table.UsageStore.watermarks) and the
digest of its aggregate. A refresh reads a partition again only when its index ETag differs, so its cost
follows the partitions written since. Aggregates are content-addressed and never rewritten:
``rollups/{month}/parts/{partition}/{digest}.json.z`` (chargeback/usage/rollup_delta's compact shape, zlib).

``rollups/{month}/merged.json.z`` is the sum of the parts it names by digest (always self-consistent: it is
written whole, from a sum and the digests it was summed from). ``month_usage`` brings it up to date by
subtracting each changed partition's previous aggregate and adding its current one, exactly (integer and
exact-decimal sums; attribution merged per partition in partition order), so it equals a full merge of every
part; when a previous aggregate is missing or does not add up, it merges every part again (``rebuild``).
A refresh that only added rows to a partition (chargeback/storage/usage_delta) keeps them on the partition's
row (``Previous``: the aggregate they were added to, ``Delta``: their groups and the new attribution), so
the merged sum, when it still names ``Previous``, takes them in without reading either aggregate.
An aggregate subtracted out of the merged sum is deleted unless the partition's row still names it. A row
names it again only if the partition's content reverts to exactly that aggregate (rows are upserted, never
deleted: a replaced row changed back); should a refresh race that deletion, the rebuild finds the aggregate
missing, clears the partition's watermark so the next refresh reads it again, and fails this once.
The priced month so far is one blob, ``rollups/{month}/month_to_date.json.z``.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.documents import DocumentStore
from chargeback.storage.usage_delta import Counted
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.rollup_delta import (
    FORMAT,
    RollupMismatch,
    add_groups,
    attribution_of,
    decode_groups,
    encode_groups,
    patch_encoded,
    with_attribution,
)

ROLLUP_TABLE = "UsageRollups"
ROLLUPS = "rollups"
ZLIB = "application/zlib"   # JSON, zlib-compressed (RFC 1950)
Rows = dict[str, tuple[str, str | None]]   # partition -> (watermark, digest of its aggregate; None: first format)
Deltas = dict[str, tuple[str, bytes]]   # partition -> (digest of the aggregate before, what was added since)
DELTA_BYTES = 60_000   # a binary property holds at most 64 KiB ("Understanding the Table service data model")


def part_blob(month: str, partition: str, digest: str | None = None) -> str:
    """An aggregate's blob; without a digest, the first format's (one blob per partition, rewritten)."""
    return f"{month}/parts/{partition}.json" if digest is None else f"{month}/parts/{partition}/{digest}.json.z"


def merged_blob(month: str) -> str:
    return f"{month}/merged.json.z"


def encode_part(usage: MonthUsage, counted: Counted | None = None) -> bytes:
    document = {"format": FORMAT, "usage": encode_groups(usage), "attribution": attribution_of(usage)}
    if counted is not None:   # what a delta read needs (chargeback/storage/usage_delta)
        document["counted"] = counted.to_dict()
    return _dumps(document)


@dataclass
class StoredPart:
    digest: str
    usage: MonthUsage
    counted: Counted | None


class RollupStore:
    """Partition aggregates with their watermarks, their merged sum, and the month-to-date document."""

    def __init__(self, account: StorageAccount):
        self.account = account
        self.documents = DocumentStore(account)

    def parts(self, month: str) -> Rows:
        """partition -> (the index ETag its stored aggregate was read under, the aggregate's digest)."""
        return self._rows(month)

    def put_part(self, month: str, partition: str, watermark: str, usage: MonthUsage, counted: Counted | None = None,
                 delta: tuple[str, MonthUsage] | None = None) -> str:
        """Blob first, row second: a row never names an aggregate that is not there yet. Returns the digest.
        ``delta``: (digest of the aggregate before, the usage added to it), kept on the row (when small) so
        that ``month_usage`` adds it to the merged sum without reading either aggregate."""
        body = encode_part(usage, counted)
        digest = hashlib.sha256(body).hexdigest()[:32]
        self.documents.put(ROLLUPS, part_blob(month, partition, digest), _pack(body), ZLIB)
        row: dict[str, Any] = {"PartitionKey": month, "RowKey": partition, "Watermark": watermark, "Digest": digest}
        if delta is not None:
            packed = _pack(_dumps({"usage": encode_groups(delta[1]), "attribution": attribution_of(usage)}))
            if len(packed) <= DELTA_BYTES:
                row.update(Previous=delta[0], Delta=packed)
        with storage_errors(f"recording the rollup of {partition}"):
            self.account.table(ROLLUP_TABLE).upsert_entity(row, mode=UpdateMode.REPLACE)
        return digest

    def stored_part(self, month: str, partition: str, digest: str | None = None) -> StoredPart | None:
        """The partition's aggregate ``digest`` (None: its current one) and what it counted (None: none, or
        not there any more)."""
        with storage_errors(f"reading the rollup of {partition}"), suppress(ResourceNotFoundError):
            if digest is None:
                digest = self.account.table(ROLLUP_TABLE).get_entity(month, partition, select=["Digest"]).get("Digest")
            if digest:
                with suppress(FileNotFoundError, RollupMismatch):
                    document = self._document(month, partition, digest)
                    counted = Counted.from_dict(document["counted"]) if "counted" in document else None
                    usage = with_attribution(decode_groups(document["usage"]), [document["attribution"]])
                    return StoredPart(digest, usage, counted)
        return None

    def part(self, month: str, partition: str) -> MonthUsage:
        """The partition's aggregate as of its last refresh."""
        _watermark, digest = self._rows(month)[partition]
        return self._part(month, partition, digest)

    def month_usage(self, month: str) -> MonthUsage:
        """The month's usage as of the last refresh: every partition's aggregate merged."""
        rows, deltas = self._listing(month)
        merged = self._merged(month)
        if merged is None or any(digest is None for _watermark, digest in rows.values()):
            return self.rebuild(month, rows)
        digests: dict[str, str] = merged["parts"]
        attribution: dict[str, dict[str, Any]] = merged["attribution"]
        usage = decode_groups(merged["usage"])
        changed = sorted(p for p in set(rows) | set(digests) if rows.get(p, ("", None))[1] != digests.get(p))
        if changed:
            added: list[MonthUsage] = []   # while every change is a delta, the sum's encoding is patched
            try:
                for partition in changed:
                    previous = digests.get(partition)
                    if partition in deltas and previous is not None and deltas[partition][0] == previous:
                        delta = json.loads(zlib.decompress(deltas[partition][1]))
                        added.append(decode_groups(delta["usage"]))
                        add_groups(usage, added[-1])
                        attribution[partition] = delta["attribution"]
                        continue
                    self._swap(usage, attribution, month, partition, previous, rows.get(partition))
                    added.clear()
                    merged["usage"] = None
            except (RollupMismatch, FileNotFoundError):
                return self.rebuild(month, rows)
            if merged["usage"] is not None:
                for part in added:
                    patch_encoded(merged["usage"], usage, part)
            stale = [(p, digests[p]) for p in changed if p in digests]
            digests = {p: digest for p, (_watermark, digest) in rows.items() if digest is not None}
            self._put_merged(month, usage, digests, attribution, merged["usage"])
            for partition, digest in stale:
                if digests.get(partition) != digest:
                    self._delete(part_blob(month, partition, digest))
        return with_attribution(usage, [attribution[p] for p in sorted(attribution)])

    def rebuild(self, month: str, rows: Rows | None = None) -> MonthUsage:
        """Merge every partition's aggregate again, in partition order, and keep the sum (first-format
        aggregates are stored again content-addressed on the way)."""
        rows = self._rows(month) if rows is None else rows
        usage = MonthUsage(month)
        digests: dict[str, str] = {}
        attribution: dict[str, dict[str, Any]] = {}
        for partition in sorted(rows):
            watermark, digest = rows[partition]
            try:
                part = self._part(month, partition, digest)
            except FileNotFoundError:
                self._forget(month, partition)
                raise
            if digest is None:
                digest = self.put_part(month, partition, watermark, part)
            usage.merge(part)
            digests[partition], attribution[partition] = digest, attribution_of(part)
        self._put_merged(month, usage, digests, attribution)
        return usage

    def put_month_to_date(self, month: str, document: dict[str, Any]) -> None:
        self.documents.put(ROLLUPS, f"{month}/month_to_date.json.z", _pack(_dumps(document)), ZLIB)

    def month_to_date(self, month: str) -> dict[str, Any] | None:
        """The month so far as the last refresh priced it (a first-format ``.json`` one if that is all)."""
        data = self.documents.get(ROLLUPS, f"{month}/month_to_date.json.z")
        if data is not None:
            packed: dict[str, Any] = json.loads(zlib.decompress(data))
            return packed
        try:
            document: dict[str, Any] = self.documents.get_json(ROLLUPS, f"{month}/month_to_date.json")
        except (FileNotFoundError, ResourceNotFoundError):
            return None
        return document

    def _rows(self, month: str) -> Rows:
        return self._listing(month, deltas=False)[0]

    def _listing(self, month: str, deltas: bool = True) -> tuple[Rows, Deltas]:
        columns = ["RowKey", "Watermark", "Digest", *(["Previous", "Delta"] if deltas else [])]
        with storage_errors(f"listing rollups of {month}"):
            rows = list(self.account.table(ROLLUP_TABLE).query_entities(
                "PartitionKey eq @m", parameters={"m": month}, select=columns))
        added = {row["RowKey"]: (row["Previous"], bytes(row["Delta"])) for row in rows
                 if row.get("Previous") and row.get("Delta")}
        return {row["RowKey"]: (row["Watermark"], row.get("Digest")) for row in rows}, added

    def _swap(self, usage: MonthUsage, attribution: dict[str, dict[str, Any]], month: str, partition: str,
              previous: str | None, current: tuple[str, str | None] | None) -> None:
        """Take the partition's previous aggregate out of the sum and put its current one in."""
        if previous is not None:
            add_groups(usage, decode_groups(self._document(month, partition, previous)["usage"]), -1)
            attribution.pop(partition, None)
        if current is not None and current[1] is not None:
            document = self._document(month, partition, current[1])
            add_groups(usage, decode_groups(document["usage"]))
            attribution[partition] = document["attribution"]

    def _part(self, month: str, partition: str, digest: str | None) -> MonthUsage:
        if digest is None:
            return MonthUsage.from_dict(self.documents.get_json(ROLLUPS, part_blob(month, partition)))
        document = self._document(month, partition, digest)
        return with_attribution(decode_groups(document["usage"]), [document["attribution"]])

    def _document(self, month: str, partition: str, digest: str) -> dict[str, Any]:
        data = self.documents.get(ROLLUPS, part_blob(month, partition, digest))
        if data is None:
            raise FileNotFoundError(f"{ROLLUPS}/{part_blob(month, partition, digest)} does not exist")
        document: dict[str, Any] = json.loads(zlib.decompress(data))
        if document.get("format") != FORMAT:
            raise RollupMismatch(f"rollup {partition}/{digest} is not in format {FORMAT}")
        return document

    def _merged(self, month: str) -> dict[str, Any] | None:
        data = self.documents.get(ROLLUPS, merged_blob(month))
        document: dict[str, Any] | None = json.loads(zlib.decompress(data)) if data is not None else None
        return document if document is not None and document.get("format") == FORMAT else None

    def _put_merged(self, month: str, usage: MonthUsage, digests: dict[str, str],
                    attribution: dict[str, dict[str, Any]], encoded: dict[str, Any] | None = None) -> None:
        """``encoded``: ``usage`` already encoded (rollup_delta.patch_encoded), else it is encoded here."""
        document = {"format": FORMAT, "parts": dict(sorted(digests.items())),
                    "usage": encode_groups(usage) if encoded is None else encoded,
                    "attribution": dict(sorted(attribution.items()))}
        self.documents.put(ROLLUPS, merged_blob(month), _pack(_dumps(document)), ZLIB)

    def _forget(self, month: str, partition: str) -> None:
        """Clear the partition's watermark: the next refresh reads it again and stores its aggregate anew
        (an aggregate deleted while a writer named it again, which needs a partition's content to revert)."""
        with storage_errors(f"forgetting the rollup of {partition}"):
            self.account.table(ROLLUP_TABLE).upsert_entity(
                {"PartitionKey": month, "RowKey": partition, "Watermark": ""})

    def _delete(self, name: str) -> None:
        with storage_errors(f"deleting {ROLLUPS}/{name}"), suppress(ResourceNotFoundError):
            self.account.container(ROLLUPS).delete_blob(name)


def _pack(body: bytes) -> bytes:
    """Compressed: the rows repeat subscriptions, deployments and zero counts (a month's sum shrinks ~7x,
    for a few milliseconds' work), and these blobs are read and written on every refresh."""
    return zlib.compress(body, 3)


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")
