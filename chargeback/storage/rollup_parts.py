"""A usage partition's stored aggregate (chargeback/storage/rollup_store): its blob names, its document, and
the groups added to it since the aggregate the month's merged sum names for it (its *base*).

A part document is ``{"format", "usage", "attribution"[, "counted"][, "since"]}``: the aggregate's line
groups (rollup_delta.encode_groups), its attribution, what it counted (chargeback/storage/usage_delta) and
``since = {"base": digest, "usage": groups}``: this aggregate's groups are exactly the base aggregate's plus
``since.usage`` (every refresh that only added rows builds the next ``since`` from the stored one plus the
rows it read, so it holds by induction; blobs are content-addressed, never rewritten). The partition's row
carries the same groups (``Previous`` = base, ``Delta``), so the merged sum, while it names that base, takes
the partition's current aggregate in by adding them, however many refreshes ran since it was written.
"""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from chargeback.storage.usage_delta import Counted
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.rollup_binary import PackedGroups, is_packed, pack_groups, packed_header
from chargeback.usage.rollup_delta import (
    FORMAT,
    add_groups,
    attribution_of,
    decode_groups,
    encode_groups,
    with_attribution,
)

ZLIB = "application/zlib"   # JSON, zlib-compressed (RFC 1950)
DELTA_BYTES = 60_000   # a binary property holds at most 64 KiB ("Understanding the Table service data model")
MERGED_ROW = "~merged"   # the merged sum's part map: sorts after every partition, and is none of them
Rows = dict[str, tuple[str, str | None]]   # partition -> (watermark, digest of its aggregate; None: first format)
Deltas = dict[str, tuple[str, bytes]]   # partition -> (its base, what its aggregate adds to it)


def part_blob(month: str, partition: str, digest: str | None = None) -> str:
    """An aggregate's blob; without a digest, the first format's (one blob per partition, rewritten)."""
    return f"{month}/parts/{partition}.json" if digest is None else f"{month}/parts/{partition}/{digest}.json.z"


def merged_blob(month: str) -> str:
    """The merged sum (``merged_payload``). Its first encoding, JSON rows, was ``merged.json.z``: a month that
    has only that one is summed again once (RollupStore.rebuild) and written here."""
    return f"{month}/merged.groups.z"


def merged_payload(usage: MonthUsage, digests: dict[str, str], attribution: dict[str, dict[str, Any]]) -> bytes:
    """The merged sum's blob: its groups packed (chargeback/usage/rollup_binary; read back on every refresh),
    its part map and the partitions' attribution in the header; JSON rows if a count does not fit 64 bits."""
    extra = {"format": FORMAT, "parts": dict(sorted(digests.items())),
             "attribution": dict(sorted(attribution.items()))}
    packed = pack_groups(usage, extra)
    return pack(packed if packed is not None else dumps({**extra, "usage": encode_groups(usage)}))


def merged_document(data: bytes) -> dict[str, Any] | None:
    """``{"format", "parts", "attribution", "usage"}`` of a ``merged_payload`` (``usage``: PackedGroups, or
    the JSON rows), None if not in this format."""
    body = zlib.decompress(data)
    document: dict[str, Any]
    if is_packed(body):
        header, numbers = packed_header(body)
        document = {"format": header.get("format"), "parts": header["parts"],
                    "attribution": header["attribution"], "usage": PackedGroups(header, numbers)}
    else:
        document = _decode(body)
    return document if document.get("format") == FORMAT else None


@dataclass
class Since:
    """The groups added to the aggregate ``base`` (a digest) to make this one (no attribution)."""

    base: str
    usage: MonthUsage


@dataclass
class StoredPart:
    digest: str
    usage: MonthUsage
    counted: Counted | None
    since: Since | None = None


@dataclass
class Listing:
    """A month's rollup rows: the partitions' and, from the ``~merged`` row, the merged sum's part map."""

    rows: Rows
    deltas: Deltas = field(default_factory=dict)
    bases: dict[str, str] | None = None   # None: no ``~merged`` row (or its map did not fit one)
    since: dict[str, str] = field(default_factory=dict)   # partition -> its aggregate's Counted.since (ISO)

    def with_part(self, part: PreparedPart) -> None:
        """The listing as it is once ``part`` is stored."""
        row = part.row
        self.rows[row["RowKey"]] = (row["Watermark"], row["Digest"])
        self.since.pop(row["RowKey"], None)
        self.deltas.pop(row["RowKey"], None)
        if row.get("Since"):
            self.since[row["RowKey"]] = row["Since"]
        if row.get("Previous") and row.get("Delta"):
            self.deltas[row["RowKey"]] = (row["Previous"], row["Delta"])


@dataclass
class PreparedPart:
    """An aggregate ready to store: its blob's name and body (not yet packed) and its row."""

    blob: str
    body: bytes
    row: dict[str, Any]


def prepared_part(month: str, partition: str, watermark: str, usage: MonthUsage, counted: Counted | None = None,
                  since: Since | None = None) -> PreparedPart:
    """The aggregate's document and row. ``since``: what ``usage`` adds to its base, kept on the row (when
    it fits a binary property) and in the document; the row also keeps ``counted.since``, so that a refresh
    may start reading the rows written after it before the document is fetched."""
    encoded = encode_groups(since.usage) if since is not None else None
    delta = row_delta(encoded, usage) if encoded is not None else None
    kept = (since.base, encoded) if since is not None and encoded is not None and delta is not None else None
    body = encode_part(usage, counted, kept)
    digest = hashlib.sha256(body).hexdigest()[:32]
    row: dict[str, Any] = {"PartitionKey": month, "RowKey": partition, "Watermark": watermark, "Digest": digest}
    if counted is not None and counted.since is not None:
        row["Since"] = counted.since.isoformat()
    if kept is not None:
        row.update(Previous=kept[0], Delta=delta)
    return PreparedPart(part_blob(month, partition, digest), body, row)


def listing_of(found: list[Any]) -> Listing:
    """The table's entities for a month (``Delta`` only where asked for) as a Listing."""
    rows = [row for row in found if row["RowKey"] != MERGED_ROW]
    listing = Listing({row["RowKey"]: (row["Watermark"], row.get("Digest")) for row in rows},
                      {row["RowKey"]: (row["Previous"], bytes(row["Delta"])) for row in rows
                       if row.get("Previous") and row.get("Delta")},
                      since={row["RowKey"]: row["Since"] for row in rows if row.get("Since")})
    special = [row for row in found if row["RowKey"] == MERGED_ROW]
    if special and special[0].get("Parts"):
        listing.bases = loads(bytes(special[0]["Parts"]))
    return listing


def encode_part(usage: MonthUsage, counted: Counted | None = None,
                since: tuple[str, dict[str, Any]] | None = None) -> bytes:
    """``since``: (base digest, its added groups already encoded)."""
    document: dict[str, Any] = {"format": FORMAT, "usage": encode_groups(usage), "attribution": attribution_of(usage)}
    if counted is not None:   # what a delta read needs (chargeback/storage/usage_delta)
        document["counted"] = counted.to_dict()
    if since is not None:
        document["since"] = {"base": since[0], "usage": since[1]}
    return dumps(document)


def stored_part(digest: str, document: dict[str, Any]) -> StoredPart:
    counted = Counted.from_dict(document["counted"]) if "counted" in document else None
    usage = with_attribution(decode_groups(document["usage"]), [document["attribution"]])
    since = document.get("since")
    added = Since(since["base"], decode_groups(since["usage"])) if since else None
    return StoredPart(digest, usage, counted, added)


def cumulative(stored: StoredPart | None, base: str | None, delta: MonthUsage | None) -> Since | None:
    """What the aggregate read from ``stored`` plus ``delta`` (the rows a refresh added) adds to ``base``:
    ``delta`` itself if ``stored`` is the base, the stored ``since`` plus ``delta`` if that was built on the
    same base, else None (the merged sum swaps the aggregates instead). ``base`` None (not told): the
    stored aggregate is taken as the base, as before the base was listed."""
    if stored is None or delta is None:
        return None
    base = stored.digest if base is None else base
    added = MonthUsage(delta.month)
    if stored.digest != base:
        if stored.since is None or stored.since.base != base:
            return None
        added = stored.since.usage
    add_groups(added, delta)
    return Since(base, added)


def row_delta(encoded: dict[str, Any], usage: MonthUsage) -> bytes | None:
    """The row's ``Delta``: the added groups (encoded) and the partition's attribution now; None if it
    does not fit a binary property."""
    packed = pack(dumps({"usage": encoded, "attribution": attribution_of(usage)}))
    return packed if len(packed) <= DELTA_BYTES else None


def groups_in(encoded: dict[str, Any] | PackedGroups) -> int:
    if isinstance(encoded, PackedGroups):
        return len(encoded)
    return len(encoded["groups"]) + len(encoded["spilled"])


def pack(body: bytes) -> bytes:
    """Compressed: the rows repeat subscriptions, deployments and zero counts (a month's sum shrinks ~7x,
    for a few milliseconds' work), and these blobs are read and written on every refresh."""
    return zlib.compress(body, 3)


# msgspec (pinned, the usage parser's fast decoder already) reads and writes these documents: ~10x less CPU to
# encode the month-to-date document than json.dumps, ~2x to decode. Compact JSON, UTF-8 (characters past ASCII
# as themselves, not \u escapes), integers of any size both ways; the standard library reads it alike
# (tests/unit/usage/test_rollup_json.py).
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def dumps(document: dict[str, Any]) -> bytes:
    return _encode(document)


def loads(packed: bytes) -> dict[str, Any]:
    document: dict[str, Any] = _decode(zlib.decompress(packed))
    return document
