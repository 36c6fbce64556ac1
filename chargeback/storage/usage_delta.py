"""A usage partition read again for a month-to-date refresh: only the rows written since its last read.

Table Storage sets an entity's ``Timestamp`` itself on every write, and a query may compare it like any
property ("Querying tables and entities": ``Timestamp ge datetime'...'``; the SDK sends a datetime parameter
in that form, azure/data/tables/_serialize._parameter_filter_substitution; Azurite filters on it too).
An aggregate stored by a refresh remembers what it counted (``Counted``): an 8-byte BLAKE2b digest of each
row key, a bound ``since`` and the ETag of each counted row stamped at or after ``since`` (the margin
window). The next read asks only for the rows stamped at or after ``since``, one query: a row whose key it
has not counted is new and is added to the aggregate (whether stamped in the window or later); a counted
row with its counted ETag is skipped (it is in the window, unchanged); a counted key with another ETag is a
redelivery or a row replaced with other usage, and the partition is read whole.

Exact, not approximate: the aggregate plus the added rows is what a whole read computes (sums of integers
and exact decimals; attribution only while no subscription reaches its label bound, rollup_delta.bounded).
Usage rows are never deleted (upserts only), which is what lets a read skip the rows it has counted.

``since`` = when that read began, by the storage server's clock (its first answer's ``Date``, less one
second for the header's resolution and less the read's duration) - ``MARGIN``. A row the read did not see
became visible after the read began; its Timestamp may be earlier than that, by as long as the write was in
flight on the server (at most 30 s: "Setting timeouts for Table service operations", the limit for insert,
update and delete; a query page runs at most 5 s, within the read's duration) and by the difference between
the clocks of the storage servers (the one dating the answer, the ones stamping rows; not documented, Azure
hosts are time-synchronised, so 90 s is generous). 120 s in all: an hourly refresh reads again the rows
written in the two minutes before the previous one began (about 3% of an hour's rows) and skips them.
A digest collision costs a whole read, never a miscount (a new row with a counted digest reads it whole).
"""
from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.table_json import literal, query_pages
from chargeback.storage.usage_json import row_record
from chargeback.storage.usage_table import AGGREGATION_COLUMNS, USAGE_TABLE
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.rollup_delta import bounded

MARGIN = timedelta(seconds=120)
DIGEST_BYTES = 8
COLUMNS = ",".join([*AGGREGATION_COLUMNS, "Timestamp"])
Seen = tuple[bytes, datetime, str]   # (digest of the row key, Timestamp, ETag)


def digest(row_key: str) -> bytes:
    return hashlib.blake2b(row_key.encode("utf-8"), digest_size=DIGEST_BYTES).digest()


@dataclass
class Counted:
    """What an aggregate counted: its rows' key digests; ``latest`` and ``since`` (None: read it whole next)."""

    keys: set[bytes] = field(default_factory=set)
    latest: datetime | None = None
    since: datetime | None = None
    recent: dict[bytes, str] = field(default_factory=dict)   # digest -> ETag of the rows stamped >= since

    def to_dict(self) -> dict[str, Any]:
        """The digests as one base64 text each (sorted, 8 bytes apiece), the window's ETags in the order of
        its digests. ``recent`` (the earlier shape, [[hex digest, ETag], ...]) is left empty: code from before
        reads no window, so every row it meets there is a counted key with another ETag, and it reads the
        partition whole (exact, as for a redelivery) instead of failing."""
        window = sorted(self.recent)
        return {"keys": _packed(sorted(self.keys)), "latest": _iso(self.latest), "since": _iso(self.since),
                "recent": [], "window": _packed(window), "etags": [self.recent[key] for key in window]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counted:
        if "window" in data:
            recent = dict(zip(_unpacked(data["window"]), data["etags"], strict=True))
        else:   # written before: [[hex digest, ETag], ...]
            recent = {bytes.fromhex(key): etag for key, etag in data["recent"]}
        return cls(set(_unpacked(data["keys"])), _time(data["latest"]), _time(data["since"]), recent)


@dataclass
class PartitionRead:
    """A partition's aggregate after a read, what it counted, the rows the read returned, and the rows it
    added to the previous aggregate (None: read whole)."""

    usage: MonthUsage
    counted: Counted
    rows: int
    delta: MonthUsage | None


@dataclass
class Fetched:
    """A partition's rows stamped at or after ``since``, as the service sent them, fetched while its
    aggregate was being read (``since`` from its rollup row, chargeback/storage/rollup_parts.prepared_part);
    ``began``: the server's time of the first answer, ``start``: time.monotonic() when the query was sent."""

    since: datetime
    rows: list[dict[str, Any]]
    began: datetime | None
    start: float


class _Whole(Exception):
    """The rows since the last read cannot be added to its aggregate: read the partition whole."""


class PartitionReader:
    """Reads usage partitions (current key scheme only; legacy ones read whole through UsageStore)."""

    def __init__(self, account: StorageAccount):
        self.account = account
        self._began: datetime | None = None   # the storage server's time when this read began

    def fetch_since(self, partition: str, since: datetime) -> Fetched:
        """The query ``read`` makes for an aggregate whose ``Counted.since`` is ``since``, made ahead."""
        start = time.monotonic()
        self._began = None
        rows = list(self._rows(partition, _stamped_since(since), COLUMNS))
        return Fetched(since, rows, self._began, start)

    def read(self, month: str, partition: str, previous: MonthUsage | None = None,
             counted: Counted | None = None, fetched: Fetched | None = None) -> PartitionRead:
        """The rows since ``counted`` added to ``previous`` (its aggregate), or the partition read whole.
        ``fetched``: those rows fetched ahead (``fetch_since``), used if fetched since ``counted.since``."""
        rows = [0]
        self._began = None
        if previous is not None and counted is not None:
            try:
                return self._since(month, partition, previous, counted, rows,
                                   fetched if fetched is not None and fetched.since == counted.since else None)
            except _Whole:
                pass
        whole = self._whole(month, partition)
        whole.rows += rows[0]
        return whole

    def _whole(self, month: str, partition: str) -> PartitionRead:
        start = time.monotonic()
        usage = MonthUsage(month)
        seen: list[Seen] = []
        for row in self._rows(partition, "", COLUMNS):
            usage.add(row_record(row))
            seen.append(_seen(row))
        counted = Counted({key for key, _at, _etag in seen})
        _bound(counted, seen, self._began, time.monotonic() - start)
        return PartitionRead(usage, counted, len(seen), None)

    def _since(self, month: str, partition: str, previous: MonthUsage, counted: Counted,
               rows: list[int], fetched: Fetched | None) -> PartitionRead:
        if counted.since is None:
            raise _Whole
        start = time.monotonic() if fetched is None else fetched.start   # the read's duration includes the wait
        self._began = None if fetched is None else fetched.began
        seen: list[Seen] = []
        delta = MonthUsage(month)
        added: set[bytes] = set()
        recent, keys = counted.recent, counted.keys
        found = self._rows(partition, _stamped_since(counted.since), COLUMNS) if fetched is None else fetched.rows
        for row in found:
            rows[0] += 1
            key, etag = digest(row["RowKey"]), row["odata.etag"]
            if recent.get(key) != etag:   # not counted in the window unchanged: a new row, or read it whole
                if key in keys or key in added:
                    raise _Whole
                delta.add(row_record(row))
                added.add(key)
            seen.append((key, datetime.fromisoformat(row["Timestamp"]), etag))
        usage = previous.merge(delta)
        if not bounded(usage):
            raise _Whole
        after = Counted(counted.keys | added, counted.latest, counted.since)
        _bound(after, seen, self._began, time.monotonic() - start)
        return PartitionRead(usage, after, rows[0], delta)

    def _rows(self, partition: str, where: str, select: str) -> Iterator[dict[str, Any]]:
        """The partition's rows matching ``where`` (after its PartitionKey comparison), as the service sends
        them (chargeback/storage/table_json: the SDK's deserializer and entity conversion cost ~0.7 ms of CPU
        a row, more than all the rest a refresh does with it). Every read of usage rows here goes through
        this (tests count the rows it returns)."""
        table = self.account.table(USAGE_TABLE)
        with storage_errors(f"reading usage partition {partition}"):
            for response, rows in query_pages(table, f"PartitionKey eq {literal(partition)}{where}", select):
                self._began = self._began or _server_time(response.headers)
                yield from rows


def _seen(row: dict[str, Any]) -> Seen:
    return digest(row["RowKey"]), datetime.fromisoformat(row["Timestamp"]), row["odata.etag"]


def _server_time(headers: Any) -> datetime | None:
    """The response's ``Date`` (RFC 1123, whole seconds: one second is taken off), None if it has none."""
    with suppress(KeyError, TypeError, ValueError):
        return parsedate_to_datetime(headers["Date"]) - timedelta(seconds=1)
    return None


def _bound(counted: Counted, seen: list[Seen], began: datetime | None, duration: float) -> None:
    """Move ``latest`` and ``since`` on after a read whose first answer was dated ``began`` by the storage
    server and which took ``duration`` seconds (its first answer came at most that long after it began),
    and keep the ETags of the rows stamped at or after the new ``since`` (every such row was among
    ``seen``: it is stamped at or after the previous ``since``, and the read asked for all of those)."""
    if seen:
        latest = max(at for _key, at, _etag in seen)
        counted.latest = latest if counted.latest is None else max(counted.latest, latest)
    if counted.latest is None:
        return
    since = (counted.latest if began is None else began) - timedelta(seconds=duration) - MARGIN
    counted.since = since if counted.since is None else max(counted.since, since)
    floor = counted.since
    counted.recent = {key: etag for key, at, etag in seen if at >= floor}


def _stamped_since(since: datetime) -> str:
    return f" and Timestamp ge datetime'{_odata(since)}'"


def _odata(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")   # as the SDK writes a datetime parameter


def _packed(digests: list[bytes]) -> str:
    return base64.b64encode(b"".join(digests)).decode("ascii")


def _unpacked(text: str) -> list[bytes]:
    packed = base64.b64decode(text)
    return [packed[i:i + DIGEST_BYTES] for i in range(0, len(packed), DIGEST_BYTES)]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
