"""Event Hub trigger: decode the batch, hand it to the domain, let storage failures raise."""
from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from chargeback.usage.events import RawEvent
from chargeback.wiring import services
from chargeback.workflow.ingesting import ingest_batch

bp = df.Blueprint()
_log = logging.getLogger(__name__)


@bp.function_name("ingest_usage")
# Retry on this trigger only (Event Hubs retries are function-level: aka.ms/azure_functions_retries).
# Unbounded: the checkpoint does not move while a batch fails, so a storage outage delays usage and a
# bounded count would skip (drop) the batch. Redelivery is harmless: rows are keyed by request.
@bp.retry(strategy="exponential_backoff", max_retry_count="-1",
          minimum_interval="00:00:05", maximum_interval="00:15:00")
@bp.event_hub_message_trigger(arg_name="events", event_hub_name="%CHARGEBACK_EVENTHUB_NAME%",
                              connection="EventHubConnection", cardinality="many",
                              consumer_group="%CHARGEBACK_EVENTHUB_CONSUMER_GROUP%")
def ingest_usage(events: list[func.EventHubEvent]) -> None:
    """Store a batch of APIM usage events; raises (so the host retries) if storage fails."""
    partition = partition_id(events)
    raw = [RawEvent(e.get_body(), partition, e.sequence_number if e.sequence_number is not None else -1,
                    str(e.offset or ""), e.enqueued_time) for e in events]
    s = services()
    result = ingest_batch(raw, s.usage, s.dead_letters, s.telemetry, s.gateway_halves)
    for observe in list(s.ingest_observers):   # the local host counts batches here; none in Azure
        observe(result)
    _log.info("ingested partition=%s received=%d stored=%d dead_lettered=%d", partition,
              result.received, result.stored, result.dead_lettered)


def partition_id(events: list[func.EventHubEvent]) -> str:
    """The Event Hub partition of a batch (cardinality many: one partition per invocation)."""
    metadata = (events[0].metadata or {}) if events else {}
    context = metadata.get("PartitionContext") or {}
    return str(context.get("PartitionId", "")) if isinstance(context, dict) else ""
