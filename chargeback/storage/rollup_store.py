"""Month-to-date rollups: each usage partition's aggregate as of a watermark, their merged sum, and the
month priced so far.

Table ``UsageRollups`` holds one row per usage partition (PartitionKey the month, RowKey the partition) with
the partition-index ETag it was read under (chargeback/storage/usage_table.UsageStore.watermarks) and the
digest of its aggregate. A refresh reads a partition again only when its index ETag differs, so its cost
follows the partitions written since. Aggregates are content-addressed and never rewritten:
``rollups/{month}/parts/{partition}/{digest}.json.z`` (chargeback/storage/rollup_parts, zlib).

``rollups/{month}/merged.groups.z`` (rollup_parts.merged_payload) is the sum of the parts it names by
digest, each partition's *base* (always self-consistent: it is written whole, from a sum and the digests it
was summed from). Right after
it, its part map is written to the row ``~merged`` (no partition key starts with ``~``: ``YYYY-MM~NN``,
legacy ``YYYY-MM~sub~NN``), so the listing a refresh does anyway tells it each partition's base. A refresh
that only added rows keeps on the partition's row (and in its part document, rollup_parts.Since) what its
aggregate adds to that base, cumulated over refreshes (``Previous``: the base, ``Delta``: the groups and
the partition's attribution now). ``month_usage`` adds to the merged sum, in memory, every delta whose base
it names; for any other changed partition (read whole, a delta too big for a row, a base it does not name:
a stale ``~merged`` row, two refreshes listed out of order) it subtracts the aggregate it names and adds
the current one, exactly (integer and exact-decimal sums; attribution merged per partition in partition
order), so it equals a full merge of every part; when an aggregate is missing or does not add up, it merges
every part again (``rebuild``). The merged blob is rewritten only after such a swap or when the deltas on
top of it exceed a quarter of its groups (``REWRITE_SHARE``); a ``~merged`` row that disagrees with it is
written again alone; each refresh otherwise reads the blob and the deltas, and writes nothing.
An aggregate no longer named by the merged sum or a row is deleted: by the refresh that supersedes it when
it is not the base (RollupStore.drop_superseded), by the rewrite that moves the base past it otherwise,
unless the partition's row still names it (not swept: one superseded by a refresh racing another, or a base
left by a crash before its rewrite finished, stays). A row names it again only if the partition's content reverts to
exactly that aggregate (rows are upserted, never deleted: a replaced row changed back); should a refresh
race that deletion, the rebuild finds the aggregate missing, clears the partition's watermark so the next
refresh reads it again, and fails this once. Deleting a base that a stale ``~merged`` row did not name
costs one rebuild, never a miscount.
The priced month so far is one blob, ``rollups/{month}/month_to_date.json.z``.
"""
from __future__ import annotations

from contextlib import suppress
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from chargeback.overlap import together
from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.documents import DocumentStore
from chargeback.storage.rollup_parts import (
    DELTA_BYTES,
    MERGED_ROW,
    ZLIB,
    Listing,
    PreparedPart,
    Rows,
    Since,
    StoredPart,
    dumps,
    encode_part,
    listing_of,
    loads,
    merged_blob,
    merged_document,
    merged_payload,
    pack,
    part_blob,
    prepared_part,
    stored_part,
)
from chargeback.storage.rollup_sum import Summed, sum_listed
from chargeback.storage.usage_delta import Counted
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.rollup_delta import (
    FORMAT,
    RollupMismatch,
    attribution_of,
    decode_groups,
    with_attribution,
)

ROLLUP_TABLE = "UsageRollups"
ROLLUPS = "rollups"
# Every refresh reads and decodes the deltas on top of the merged sum: bounded to a quarter of its groups,
# that is at most a quarter more than decoding the sum itself, and a rewrite (pack and put it, ~20-25 ms at
# 20,000 events, ~3,900 groups) comes at most once per ~970 groups added (a day of that month adds ~100).
REWRITE_SHARE = 4
__all__ = ["DELTA_BYTES", "MERGED_ROW", "ROLLUPS", "ROLLUP_TABLE", "RollupStore", "StoredPart", "encode_part",
           "merged_blob", "part_blob"]


class RollupStore:
    """Partition aggregates with their watermarks, their merged sum, and the month-to-date document."""

    def __init__(self, account: StorageAccount):
        self.account = account
        self.documents = DocumentStore(account)

    def parts(self, month: str) -> Rows:
        """partition -> (the index ETag its stored aggregate was read under, the aggregate's digest)."""
        return self._rows(month)

    def put_part(self, month: str, partition: str, watermark: str, usage: MonthUsage, counted: Counted | None = None,
                 since: Since | None = None) -> str:
        """Blob first, row second: a row never names an aggregate that is not there yet. Returns the digest.
        ``since``: what ``usage`` adds to its base, kept on the row (when it fits) and in the document, so
        that ``month_usage`` adds it to the merged sum without reading either aggregate."""
        return self.store_part(prepared_part(month, partition, watermark, usage, counted, since))

    def store_part(self, part: PreparedPart) -> str:
        """``part``'s blob, then its row (prepared_part). Returns its digest."""
        self.documents.put(ROLLUPS, part.blob, pack(part.body), ZLIB)
        with storage_errors(f"recording the rollup of {part.row['RowKey']}"):
            self.account.table(ROLLUP_TABLE).upsert_entity(part.row, mode=UpdateMode.REPLACE)
        digest: str = part.row["Digest"]
        return digest

    def drop_superseded(self, month: str, partition: str, digest: str | None, base: str | None,
                        current: str) -> None:
        """Delete the aggregate ``digest`` a refresh read from and superseded by ``current``, unless it is the
        partition's ``base`` (the merged sum names it). ``base`` None (no ``~merged`` row: no merged sum yet,
        or one written before that row existed, which may name it): deleted too; at worst the merged sum,
        not finding it, is merged again once, exactly, and writes its row."""
        if digest and digest not in (base, current):
            self.delete(part_blob(month, partition, digest))

    def stored_part(self, month: str, partition: str, digest: str | None = None) -> StoredPart | None:
        """The partition's aggregate ``digest`` (None: its current one) and what it counted (None: none, or
        not there any more)."""
        with storage_errors(f"reading the rollup of {partition}"), suppress(ResourceNotFoundError):
            if digest is None:
                digest = self.account.table(ROLLUP_TABLE).get_entity(month, partition, select=["Digest"]).get("Digest")
            if digest:
                with suppress(FileNotFoundError, RollupMismatch):
                    return stored_part(digest, self.document(month, partition, digest))
        return None

    def part(self, month: str, partition: str) -> MonthUsage:
        """The partition's aggregate as of its last refresh."""
        _watermark, digest = self._rows(month)[partition]
        return self._part(month, partition, digest)

    def month_usage(self, month: str) -> MonthUsage:
        """The month's usage as of the last refresh: every partition's aggregate merged."""
        listing, merged = together(lambda: self.listing(month), lambda: self.merged(month))
        return self.brought_up(month, listing, sum_listed(self, month, listing, merged, REWRITE_SHARE))

    def brought_up(self, month: str, listing: Listing, summed: Summed) -> MonthUsage:
        """``summed``'s usage after its write, or (none) every part merged again."""
        if summed.usage is None:
            return self.rebuild(month, listing.rows)
        summed.write()
        return summed.usage

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
        self.put_merged(month, usage, digests, attribution)
        return usage

    def put_month_to_date(self, month: str, document: dict[str, Any]) -> None:
        self.documents.put(ROLLUPS, f"{month}/month_to_date.json.z", pack(dumps(document)), ZLIB)

    def month_to_date(self, month: str) -> dict[str, Any] | None:
        """The month so far as the last refresh priced it (a first-format ``.json`` one if that is all)."""
        data = self.documents.get(ROLLUPS, f"{month}/month_to_date.json.z")
        if data is not None:
            return loads(data)
        try:
            document: dict[str, Any] = self.documents.get_json(ROLLUPS, f"{month}/month_to_date.json")
        except (FileNotFoundError, ResourceNotFoundError):
            return None
        return document

    def _rows(self, month: str) -> Rows:
        return self.listing(month, deltas=False).rows

    def listing(self, month: str, deltas: bool = True) -> Listing:
        """Every row of the month in one query: the partitions' (``Delta`` too if asked) and ``~merged``."""
        columns = ["RowKey", "Watermark", "Digest", "Since", "Parts", *(["Previous", "Delta"] if deltas else [])]
        with storage_errors(f"listing rollups of {month}"):
            return listing_of(list(self.account.table(ROLLUP_TABLE).query_entities(
                "PartitionKey eq @m", parameters={"m": month}, select=columns)))

    def _part(self, month: str, partition: str, digest: str | None) -> MonthUsage:
        if digest is None:
            return MonthUsage.from_dict(self.documents.get_json(ROLLUPS, part_blob(month, partition)))
        document = self.document(month, partition, digest)
        return with_attribution(decode_groups(document["usage"]), [document["attribution"]])

    def document(self, month: str, partition: str, digest: str) -> dict[str, Any]:
        data = self.documents.get(ROLLUPS, part_blob(month, partition, digest))
        if data is None:
            raise FileNotFoundError(f"{ROLLUPS}/{part_blob(month, partition, digest)} does not exist")
        document = loads(data)
        if document.get("format") != FORMAT:
            raise RollupMismatch(f"rollup {partition}/{digest} is not in format {FORMAT}")
        return document

    def merged(self, month: str) -> dict[str, Any] | None:
        """The merged sum as rollup_parts.merged_document reads it (its groups not decoded yet)."""
        data = self.documents.get(ROLLUPS, merged_blob(month))
        return merged_document(data) if data is not None else None

    def put_merged(self, month: str, usage: MonthUsage, digests: dict[str, str],
                   attribution: dict[str, dict[str, Any]]) -> None:
        """The sum, then its part map on ``~merged`` (a crash between the two leaves the row naming older
        bases: refreshes then keep deltas the sum cannot use, it swaps, exactly, and the row is written
        again)."""
        self.documents.put(ROLLUPS, merged_blob(month), merged_payload(usage, digests, attribution), ZLIB)
        self.put_bases(month, digests)

    def put_bases(self, month: str, digests: dict[str, str]) -> None:
        parts = pack(dumps(dict(sorted(digests.items()))))
        row = {"PartitionKey": month, "RowKey": MERGED_ROW, "Parts": parts if len(parts) <= DELTA_BYTES else b""}
        with storage_errors(f"recording the merged rollup of {month}"):
            self.account.table(ROLLUP_TABLE).upsert_entity(row, mode=UpdateMode.REPLACE)

    def _forget(self, month: str, partition: str) -> None:
        """Clear the partition's watermark: the next refresh reads it again and stores its aggregate anew
        (an aggregate deleted while a writer named it again, which needs a partition's content to revert)."""
        with storage_errors(f"forgetting the rollup of {partition}"):
            self.account.table(ROLLUP_TABLE).upsert_entity(
                {"PartitionKey": month, "RowKey": partition, "Watermark": ""})

    def delete(self, name: str) -> None:
        self.documents.delete(ROLLUPS, name)   # a missing blob is fine
