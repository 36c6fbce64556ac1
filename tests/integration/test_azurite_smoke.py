from azure.data.tables import TableServiceClient


def test_azurite_fixture_serves_tables(storage):
    service = TableServiceClient.from_connection_string(storage.connection_string)
    table = service.create_table(storage.prefix + "smoke")
    table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "n": 3})
    assert table.get_entity("p", "r")["n"] == 3
