"""The two halves of a call from API Management's resource logs, joined by CorrelationId in Table Storage.

PartitionKey is the CorrelationId, RowKey ``request`` (the GatewayLogs record) or ``llm-{sequence}`` (a
GatewayLlmLogs record). Every half is an upsert keyed by what it is, so halves may arrive in either order,
in any batches or partitions, any number of times: after each write the call's partition is read back
and, when both halves are there, its usage record is completed (an idempotent upsert too). Halves are
kept, so a half that stays alone can be listed (never dropped).

Retention (``purge``): a month's halves are kept while its invoices may still change. The invoicing run
that lists a month's halves (``list_for_run``) stamps the month's row in the ``~months`` partition (a
PartitionKey no CorrelationId can be: ``~`` is not in one) and each lone half it lists with ``ListedAt``,
the first time. Once the month was first listed ``grace`` ago (setting CHARGEBACK_GATEWAY_HALVES_GRACE_DAYS,
default 35: longer than any Event Hub retention, so a redelivered half finds its call already billed),
the halves of its joined calls are removed (the call's usage record was written when it was joined); a
lone half only once it was itself listed ``grace`` ago. A lone half no run has listed is never removed.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import EdmType, EntityProperty, TableClient, UpdateMode

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.entity_groups import transactions
from chargeback.storage.usage_table import _submit
from chargeback.usage.gateway_logs import Half, LlmHalf, LoneHalf, MonthHalves, RequestHalf, complete
from chargeback.usage.record import UsageRecord

HALVES_TABLE = "GatewayHalves"
REQUEST_ROW = "request"
MONTHS_PARTITION = "~months"   # one row per month a run has listed: RowKey the month, ListedAt the first time


@dataclass(frozen=True, slots=True)
class Purged:
    """What one ``purge`` removed and kept."""

    joined_calls: int = 0   # calls whose halves were removed (billed when joined)
    lone_halves: int = 0    # lone calls removed (listed in a run's warnings, grace passed)
    lone_kept: int = 0      # lone calls of due months still kept (not listed yet, or listed too recently)


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

    def _month_rows(self, month: str) -> dict[str, list[dict[str, Any]]]:
        by_call: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with storage_errors(f"listing gateway log halves of {month}"):
            for row in self.table.query_entities("Month eq @m", parameters={"m": month}):
                by_call[row["PartitionKey"]].append(row)
        return by_call

    def month(self, month: str) -> MonthHalves:
        """The month's halves (by each half's own time), grouped per call."""
        rows = self._month_rows(month)
        return self._summary({c: [entity_to_half(e) for e in found] for c, found in rows.items()})

    def list_for_run(self, month: str, now: datetime) -> MonthHalves:
        """``month`` as an invoicing run lists it: the month and each lone half stamped ``ListedAt`` (the first
        time), which starts their retention grace."""
        rows = self._month_rows(month)
        halves = self._summary({c: [entity_to_half(e) for e in found] for c, found in rows.items()})
        with storage_errors(f"stamping the gateway log halves of {month} as listed"):
            table = self.table
            try:
                table.get_entity(MONTHS_PARTITION, month)
            except ResourceNotFoundError:
                table.upsert_entity({"PartitionKey": MONTHS_PARTITION, "RowKey": month, "ListedAt": now})
            for lone in halves.lone:
                for entity in rows[lone.correlation_id]:
                    if "ListedAt" not in entity:
                        table.update_entity({"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"],
                                             "ListedAt": now}, mode=UpdateMode.MERGE)
        return halves

    def purge(self, now: datetime, grace: timedelta) -> Purged:
        """Remove what retention allows (see the module's docstring); idempotent."""
        joined = lone_removed = kept = 0
        with storage_errors("listing the months of gateway log halves"):
            months = list(self.table.query_entities("PartitionKey eq @p", parameters={"p": MONTHS_PARTITION}))
        for marker in months:
            if marker.get("Done") or marker["ListedAt"] + grace > now:
                continue
            month_kept = 0
            for correlation_id, rows in sorted(self._month_rows(marker["RowKey"]).items()):
                outcome = self._purge_call(correlation_id, rows, now - grace)
                joined, lone_removed = joined + (outcome == "joined"), lone_removed + (outcome == "lone")
                month_kept += outcome == "kept"
            kept += month_kept
            if not month_kept:
                with storage_errors("recording a purged month of gateway log halves"):
                    self.table.update_entity({"PartitionKey": MONTHS_PARTITION, "RowKey": marker["RowKey"],
                                              "Done": True}, mode=UpdateMode.MERGE)
        return Purged(joined, lone_removed, kept)

    def _purge_call(self, correlation_id: str, rows: list[dict[str, Any]], listed_by: datetime) -> str:
        with storage_errors(f"purging gateway log halves of {correlation_id}"):
            whole: list[dict[str, Any]] = list(self.table.query_entities("PartitionKey eq @c",
                                                                         parameters={"c": correlation_id}))
            kinds = {e.get("Kind") for e in whole}
            if {"request", "llm"} <= kinds:
                doomed, outcome = whole, "joined"   # every half, in whichever month it sits
            elif all("ListedAt" in e and e["ListedAt"] <= listed_by for e in rows):
                doomed, outcome = rows, "lone"
            else:
                return "kept"
            self.table.submit_transaction([("delete", {"PartitionKey": e["PartitionKey"], "RowKey": e["RowKey"]})
                                           for e in doomed])
        return outcome

    def _summary(self, by_call: dict[str, list[Half]]) -> MonthHalves:
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
