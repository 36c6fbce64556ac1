"""Against Azurite: the plain-JSON table reads (chargeback/storage/table_json) return what the SDK's do: the
same rows over continuation pages, the same ETag text (a partition's watermark stored by an earlier refresh
still matches), one entity by keys that need quoting, and None for an entity that does not exist."""
from __future__ import annotations

from datetime import UTC, datetime

from chargeback.config.loading import parse_config
from chargeback.storage import table_json
from chargeback.storage.config_store import CONFIG_TABLE, POINTER
from chargeback.storage.entity_groups import transactions

from .test_config_store import GOOD


def test_a_query_over_pages_returns_the_sdks_rows_and_etags(app_services):
    table = app_services.account.table("JsonPages")
    rows = [{"PartitionKey": "p'q", "RowKey": f"r{i:05d}", "N": i} for i in range(1105)]   # > 1000: two pages
    rows.append({"PartitionKey": "other", "RowKey": "x", "N": -1})
    for chunk in transactions(rows):
        table.submit_transaction([("upsert", row) for row in chunk])
    where = f"PartitionKey eq {table_json.literal(chr(112) + chr(39) + chr(113))}"   # p'q
    pages = [len(page) for _response, page in table_json.query_pages(table, where, "RowKey,N")]
    assert len(pages) >= 2 and sum(pages) == 1105
    mine = {row["RowKey"]: (row["N"], row["odata.etag"]) for row in table_json.query(table, where, "RowKey,N")}
    sdk = {entity["RowKey"]: (entity["N"], entity.metadata["etag"]) for entity in table.query_entities(
        "PartitionKey eq @p", parameters={"p": "p'q"}, select=["RowKey", "N"])}
    assert mine == sdk


def test_a_watermark_is_the_etag_the_sdk_gives(app_services):
    usage = app_services.usage
    usage.index.upsert_entity({"PartitionKey": "2026-10", "RowKey": "2026-10~03",
                               "LastWritten": datetime.now(UTC)})
    sdk = {e["RowKey"]: str(e.metadata["etag"]) for e in usage.index.query_entities(
        "PartitionKey eq @m", parameters={"m": "2026-10"})}
    assert usage.watermarks("2026-10") == sdk and list(sdk) == ["2026-10~03"]


def test_one_entity_by_its_keys(app_services):
    store = app_services.config
    assert store.current_fingerprint() is None   # nothing imported: no pointer row
    table = app_services.account.table(CONFIG_TABLE)
    assert table_json.get(table, POINTER, "current", "Fingerprint") is None
    config = parse_config(GOOD)
    fingerprint = store.save(config)
    assert store.current_fingerprint() == fingerprint == table.get_entity(POINTER, "current")["Fingerprint"]
    table.upsert_entity({"PartitionKey": "it's", "RowKey": "a c'd é%20", "V": "yes"})
    assert table_json.get(table, "it's", "a c'd é%20", "V")["V"] == "yes"
    assert table_json.get(table, "it's", "a c'e é%20", "V") is None

