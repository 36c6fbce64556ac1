"""Table Storage reads answered as the service's plain JSON, through a table client's own pipeline.

The requests are those the SDK sends for ``query_entities`` and ``get_entity`` (Query Entities: ``$filter``,
``$select``, paged by the ``x-ms-continuation-*`` headers, "Query timeout and pagination"; an entity by
``Table(PartitionKey='..',RowKey='..')``), sent by the table client's pipeline (its credential, retries and
policies); only the answer is not converted: the SDK's generated deserializer and entity conversion cost
more CPU than what a caller does with a row. Rows come as the service sends them with minimal metadata
(``odata.etag``, the same text the SDK gives as ``metadata["etag"]``; Edm.Int64 and Edm.DateTime values as
text). Callers wrap these in ``storage_errors``.

``stream=True``: the pipeline's ContentDecodePolicy would otherwise parse the JSON body as well (azure.core
pipeline.policies._universal: it skips a response asked for as a stream); it is parsed once, here.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import msgspec
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest, HttpResponse
from azure.data.tables import TableClient

Row = dict[str, Any]
# msgspec's JSON decoder (pinned; the usage parser's): a page of rows in about half json.loads' CPU, the same
# values (strings, ints of any size, floats). Unlike json.loads it refuses bare NaN/Infinity, which the service
# never writes: an Edm.Double's special values are strings with an odata.type annotation ("Payload format for
# Table service operations"; Azurite's EdmDouble does the same).
_decode = msgspec.json.Decoder().decode


def literal(value: str) -> str:
    """An OData string literal: single quotes doubled ("Querying tables and entities")."""
    return "'" + value.replace("'", "''") + "'"


def query_pages(table: TableClient, where: str, select: str) -> Iterator[tuple[HttpResponse, list[Row]]]:
    """Each page of the rows matching ``where`` (a $filter), with ``select``'s columns, and its response."""
    url = f"{_table_url(table)}()"
    params = {"$filter": where, "$select": select}
    while True:
        response = _get(table, url, params)
        yield response, _decode(response.read())["value"]
        next_partition = response.headers.get("x-ms-continuation-NextPartitionKey")
        if not next_partition:
            return
        params["NextPartitionKey"] = next_partition
        params["NextRowKey"] = response.headers.get("x-ms-continuation-NextRowKey", "")


def query(table: TableClient, where: str, select: str) -> Iterator[Row]:
    for _response, rows in query_pages(table, where, select):
        yield from rows


def get(table: TableClient, partition: str, row: str, select: str) -> Row | None:
    """One entity's ``select`` columns, None if it does not exist."""
    url = (f"{_table_url(table)}(PartitionKey={quote(literal(partition), safe='')},"
           f"RowKey={quote(literal(row), safe='')})")
    try:
        found: Row = _decode(_get(table, url, {"$select": select}).read())
    except ResourceNotFoundError:
        return None
    return found


def _table_url(table: TableClient) -> str:
    return f"{table.scheme}://{table._primary_hostname}/{quote(table.table_name, safe='')}"


def _get(table: TableClient, url: str, params: dict[str, str]) -> HttpResponse:
    headers = {"x-ms-version": table.api_version, "DataServiceVersion": "3.0",
               "MaxDataServiceVersion": "3.0;NetFx", "Accept": "application/json;odata=minimalmetadata"}
    response = table._client.send_request(HttpRequest("GET", url, params=params, headers=headers), stream=True)
    if response.status_code != 200:
        response.read()
        raise (ResourceNotFoundError if response.status_code == 404 else HttpResponseError)(response=response)
    return response
