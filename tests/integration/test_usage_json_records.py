"""Against Azurite: each row of the delta read's plain JSON (chargeback/storage/usage_json) is the record the
SDK's entity makes of it (storage.usage_table.entity_to_record), field by field, for every kind of row; and
what an aggregate counted is kept compactly (digests as base64 text) and still read in its earlier shape."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from chargeback.storage.usage_delta import COLUMNS, Counted, PartitionReader, digest
from chargeback.storage.usage_json import event_time, row_record
from chargeback.storage.usage_table import AGGREGATION_COLUMNS, entity_to_record, partition_key

from .test_usage_delta_rows import records, stored_rows


def test_every_row_is_the_record_the_sdk_makes(app_services):
    usage = app_services.usage
    partition = stored_rows(usage)
    rows = {row["RowKey"]: row for row in PartitionReader(app_services.account)._rows(partition, "", COLUMNS)}
    sdk = {entity["RowKey"]: entity_to_record(entity) for entity in usage.table.query_entities(
        "PartitionKey eq @p", parameters={"p": partition}, select=AGGREGATION_COLUMNS)}
    assert set(rows) == set(sdk) == {"big", "audio", "who", "spill", "gateway", "unmetered", "first-release"}
    for key, row in rows.items():
        before = json.dumps(row, sort_keys=True)
        assert row_record(row) == sdk[key], key
        assert json.dumps(row, sort_keys=True) == before   # the row is not changed
    written = {r.record_id: r for r in records()}
    for key in ("big", "audio", "who", "spill", "gateway", "unmetered"):
        mine = row_record(rows[key])
        assert (mine.meters, mine.timestamp, mine.tags, mine.end_user, mine.metered) == (
            written[key].meters, written[key].timestamp, written[key].tags, written[key].end_user,
            written[key].metered)


@pytest.mark.parametrize("text", ["2026-10-31T15:23:29.074Z", "2026-10-31T15:23:29.0740000Z",
                                  "2026-10-31T15:23:29.074+00:00", "2026-10-31T15:23:29.074"])
def test_an_edm_datetime_is_read_as_utc(text):
    assert event_time(text) == datetime(2026, 10, 31, 15, 23, 29, 74000, tzinfo=UTC)
    assert event_time(text).tzinfo is UTC


def test_what_was_counted_is_kept_as_packed_digests():
    keys = {digest(f"row-{i}") for i in range(500)}
    recent = {key: f'W/"datetime\'2026-10-31T23%3A00%3A{i:02d}Z\'"' for i, key in enumerate(sorted(keys)[:60])}
    counted = Counted(keys, datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 10, 31, 22, 58, tzinfo=UTC),
                      recent)
    data = json.loads(json.dumps(counted.to_dict()))
    assert base64.b64decode(data["keys"]) == b"".join(sorted(keys))           # 8 bytes a row, sorted
    assert base64.b64decode(data["window"]) == b"".join(sorted(recent))
    assert data["etags"] == [recent[key] for key in sorted(recent)]
    assert data["recent"] == []   # the earlier shape's field: code from before sees no window (reads whole)
    assert Counted.from_dict(data) == counted


def test_what_was_counted_in_the_earlier_shape_is_still_read():
    key_a, key_b = digest("a"), digest("b")
    earlier = {"keys": base64.b64encode(b"".join(sorted([key_a, key_b]))).decode("ascii"),
               "latest": "2026-10-31T23:00:00+00:00", "since": "2026-10-31T22:58:00+00:00",
               "recent": [[key_b.hex(), 'W/"x"']]}   # as refreshes before this change stored it
    assert Counted.from_dict(earlier) == Counted({key_a, key_b}, datetime(2026, 10, 31, 23, tzinfo=UTC),
                                                 datetime(2026, 10, 31, 22, 58, tzinfo=UTC), {key_b: 'W/"x"'})


def test_etags_that_do_not_match_their_digests_are_refused():
    data = Counted({digest("a")}, None, None, {digest("a"): 'W/"x"'}).to_dict()
    data["etags"].append('W/"y"')
    with pytest.raises(ValueError, match="zip"):
        Counted.from_dict(data)


def test_a_null_column_is_read_as_absent():
    """Where a $select names a column the row does not have, the service may send it as null."""
    row = {"odata.etag": 'W/"x"', "RowKey": "r", "EventTime": "2026-10-31T15:23:29.074Z", "Subscription": "s",
           "Deployment": "gpt-4o", "Model": None, "EndUser": None, "Tags": None, "ServedDeployment": None,
           "InputTokens": "12", "OutputTokens": None, "AudioSeconds": None, "PromptTokens": None}
    sdk = entity_to_record({**row, "EventTime": datetime(2026, 10, 31, 15, 23, 29, 74000, tzinfo=UTC)})
    mine = row_record(row)
    assert mine == sdk
    assert (mine.meters.input, mine.meters.output, mine.tags, mine.end_user, mine.served_deployment) == (
        12, 0, (), "", "")


def earlier_from_dict(data):
    """Counted.from_dict as it was before the window was packed (commit def4b52)."""
    packed = base64.b64decode(data["keys"])
    keys = {packed[i:i + 8] for i in range(0, len(packed), 8)}
    since = data["since"] and datetime.fromisoformat(data["since"])
    latest = data["latest"] and datetime.fromisoformat(data["latest"])
    return Counted(keys, latest, since, {bytes.fromhex(key): etag for key, etag in data["recent"]})


def test_code_from_before_reads_the_new_shape_whole_and_exact(app_services):
    usage = app_services.usage
    usage.write(records())
    partition = partition_key(records()[0], usage.shards)
    reader = PartitionReader(app_services.account)
    first = reader.read("2026-10", partition)
    stored = json.loads(json.dumps(first.counted.to_dict()))
    assert first.counted.recent and Counted.from_dict(stored) == first.counted   # rows inside the window
    earlier = earlier_from_dict(stored)
    assert earlier.recent == {} and earlier.keys == first.counted.keys
    again = reader.read("2026-10", partition, reader.read("2026-10", partition).usage, earlier)
    assert again.delta is None and again.usage == first.usage   # read whole: no window, every row is counted
    assert reader.read("2026-10", partition, reader.read("2026-10", partition).usage,
                       Counted.from_dict(stored)).delta is not None   # today's code skips the window
