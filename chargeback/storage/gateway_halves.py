"""The two halves of a call from API Management's resource logs, joined by CorrelationId in Table Storage.

PartitionKey is the CorrelationId, RowKey ``request`` (the GatewayLogs record) or ``llm-{sequence}`` (a
GatewayLlmLogs record). Every half is an upsert keyed by what it is, so halves may arrive in either order,
in any batches or partitions, any number of times: after each write the call's partition is read back
and, when both halves are there, its usage record is completed (an idempotent upsert too). Halves are
kept, so a half that stays alone can be listed (never dropped).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from azure.data.tables import EdmType, EntityProperty, TableClient

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.usage_table import _submit, transactions
from chargeback.usage.gateway_logs import Half, LlmHalf, LoneHalf, MonthHalves, RequestHalf, complete
from chargeback.usage.record import UsageRecord

HALVES_TABLE = "GatewayHalves"
REQUEST_ROW = "request"


def half_to_entity(half: Half) -> dict[str, Any]:
    common = {"PartitionKey": half.correlation_id, "Month": half.month, "Time": half.time}
    if isinstance(half, RequestHalf):
        return {**common, "RowKey": REQUEST_ROW, "Kind": "request", "Subscription": half.subscription,
                "Product": half.product, "Api": half.api, "Operation": half.operation,
                "StatusCode": half.status_code, "Region": half.region}
    return {**common, "RowKey": f"llm-{half.sequence:010d}", "Kind": "llm", "Sequence": half.sequence,
            "Deployment": half.deployment, "Model": half.model, "Stream": half.stream,
            "PromptTokens": EntityProperty(half.prompt_tokens, EdmType.INT64),
            "CompletionTokens": EntityProperty(half.completion_tokens, EdmType.INT64)}


def _int(value: object) -> int:
    if isinstance(value, EntityProperty):
        value = value.value
    return value if isinstance(value, int) else 0


def entity_to_half(entity: dict[str, Any]) -> Half:
    time: datetime = entity["Time"]
    if entity.get("Kind") == "request":
        return RequestHalf(entity["PartitionKey"], time, entity.get("Subscription", ""), entity.get("Product", ""),
                           entity.get("Api", ""), entity.get("Operation", ""), _int(entity.get("StatusCode")),
                           entity.get("Region", ""))
    return LlmHalf(entity["PartitionKey"], time, _int(entity.get("Sequence")), entity.get("Deployment", ""),
                   entity.get("Model", ""), _int(entity.get("PromptTokens")), _int(entity.get("CompletionTokens")),
                   bool(entity.get("Stream", False)))


class GatewayHalvesStore:
    def __init__(self, account: StorageAccount):
        self._account = account

    @property
    def table(self) -> TableClient:
        return self._account.table(HALVES_TABLE)

    def add(self, halves: Iterable[Half]) -> list[UsageRecord]:
        """Store the halves; return the usage record of every touched call that now has both halves."""
        entities = [half_to_entity(h) for h in halves]
        if not entities:
            return []
        table = self.table
        with storage_errors("storing gateway log halves"):
            for chunk in transactions(entities):
                _submit(table, chunk)
        completed = []
        for correlation_id in sorted({e["PartitionKey"] for e in entities}):
            record = self._complete(correlation_id)
            if record is not None:
                completed.append(record)
        return completed

    def call(self, correlation_id: str) -> list[Half]:
        with storage_errors(f"reading gateway log halves of {correlation_id}"):
            rows = self.table.query_entities("PartitionKey eq @c", parameters={"c": correlation_id})
            return [entity_to_half(row) for row in rows]

    def _complete(self, correlation_id: str) -> UsageRecord | None:
        halves = self.call(correlation_id)
        requests = [h for h in halves if isinstance(h, RequestHalf)]
        llm = [h for h in halves if isinstance(h, LlmHalf)]
        return complete(requests[0], llm) if requests and llm else None

    def month(self, month: str) -> MonthHalves:
        """The month's halves (by each half's own time), grouped per call."""
        by_call: dict[str, list[Half]] = defaultdict(list)
        with storage_errors(f"listing gateway log halves of {month}"):
            for row in self.table.query_entities("Month eq @m", parameters={"m": month}):
                by_call[row["PartitionKey"]].append(entity_to_half(row))
        streamed = non_streamed = 0
        lone: list[LoneHalf] = []
        for correlation_id in sorted(by_call):
            halves = by_call[correlation_id]
            requests = [h for h in halves if isinstance(h, RequestHalf)]
            llm = [h for h in halves if isinstance(h, LlmHalf)]
            if llm and not any(h.stream for h in llm):
                non_streamed += 1
            if requests and llm:
                streamed += any(h.stream for h in llm)
                continue
            # The other half may sit in the neighbouring month (a call across midnight at month end).
            if len(self.call(correlation_id)) > len(halves):
                streamed += bool(llm and any(h.stream for h in llm))
                continue
            lone.append(_lone(requests[0]) if requests else _lone_llm(llm))
        return MonthHalves(streamed, non_streamed, tuple(lone))


def _lone(half: RequestHalf) -> LoneHalf:
    return LoneHalf(half.correlation_id, "request", half.time, half.subscription, "", False, 0, 0)


def _lone_llm(halves: list[LlmHalf]) -> LoneHalf:
    first = min(halves, key=lambda h: h.sequence)
    return LoneHalf(first.correlation_id, "llm", first.time, "", first.deployment, any(h.stream for h in halves),
                    max(h.prompt_tokens for h in halves), max(h.completion_tokens for h in halves))
