"""Issue 15, streaming: API Management resource logs (Azure Monitor envelopes) joined by CorrelationId in
Table Storage on Azurite: either order, split across batches and partitions, duplicates, lone halves,
non-streamed LLM records not billed."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chargeback.usage.events import RawEvent
from chargeback.workflow.ingesting import ingest_batch

CALL = "6f0c3a52-9f6e-4c55-8d0b-0a1b2c3d4e5f"
RESOURCE = "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/APIM-CB"


def gateway(correlation: str, time: str = "2026-03-14T10:00:00.1234567Z", subscription: str = "sub-dept-a",
            status: int = 200) -> dict:
    """A GatewayLogs record as a diagnostic setting writes it to an Event Hub (camelCase, correlationId at
    the top level, the rest under properties)."""
    return {"time": time, "resourceId": RESOURCE, "category": "GatewayLogs",
            "operationName": "Microsoft.ApiManagement/GatewayLogs", "correlationId": correlation,
            "properties": {"method": "POST", "responseCode": status, "apiId": "azure-openai",
                           "operationId": "ChatCompletions_Create", "productId": "chat",
                           "apimSubscriptionId": subscription, "region": "West Europe"}}


def llm(correlation: str, prompt: int, completion: int, stream: bool = True, sequence: int = 0,
        time: str = "2026-03-14T10:00:00.2000000Z", deployment: str = "gpt-4o") -> dict:
    """A GatewayLlmLogs record (fields as the ApiManagementGatewayLlmLog table names them)."""
    return {"time": time, "resourceId": RESOURCE, "category": "GatewayLlmLogs",
            "properties": {"CorrelationId": correlation, "DeploymentName": deployment, "ModelName": "gpt-4o",
                           "PromptTokens": prompt, "CompletionTokens": completion,
                           "TotalTokens": prompt + completion, "IsStreamCompletion": stream,
                           "SequenceNumber": sequence}}


def envelope(*records: dict, partition: str = "0", sequence: int = 1) -> RawEvent:
    return RawEvent(json.dumps({"records": list(records)}).encode(), partition, sequence)


@pytest.fixture
def ingest(app_services):
    s = app_services

    def run(*events: RawEvent):
        return ingest_batch(list(events), s.usage, s.dead_letters, None, s.gateway_halves)
    return run


def stored(app_services, month: str = "2026-03") -> list:
    return [r for p in app_services.usage.partitions(month) for r in app_services.usage.read_partition(p)]


@pytest.mark.parametrize("order", ["request first", "llm first"])
def test_both_halves_in_either_order_complete_one_streamed_record(app_services, ingest, order):
    halves = [envelope(gateway(CALL.upper())), envelope(llm(CALL, 1200, 345), partition="3")]
    for event in (halves if order == "request first" else halves[::-1]):
        ingest(event)
    [record] = stored(app_services)
    assert record.record_id == CALL                     # CorrelationId as context.RequestId writes it
    assert (record.subscription, record.deployment, record.stream) == ("sub-dept-a", "gpt-4o", True)
    assert (record.meters.input, record.meters.cached_input, record.meters.output) == (1200, 0, 345)
    assert record.source == "gateway-logs"
    assert record.timestamp == datetime(2026, 3, 14, 10, 0, 0, 123456, tzinfo=UTC)   # the request's time
    assert app_services.gateway_halves.month("2026-03").lone == ()


def test_halves_in_one_envelope_and_duplicates_are_counted_once(app_services, ingest):
    both = envelope(gateway(CALL), llm(CALL, 10, 5))
    first = ingest(both, both)
    ingest(envelope(llm(CALL, 10, 5)), envelope(gateway(CALL)))   # redelivered in another batch
    assert first.gateway_halves == 4
    [record] = stored(app_services)
    assert (record.meters.input, record.meters.output) == (10, 5)
    assert app_services.usage.count("2026-03") == 1


def test_split_llm_records_of_one_call_are_not_summed(app_services, ingest):
    # A large message is split into entries with sequence numbers; each names the call's counts once.
    ingest(envelope(gateway(CALL)), envelope(llm(CALL, 900, 80, sequence=0)))
    ingest(envelope(llm(CALL, 900, 80, sequence=1)))
    [record] = stored(app_services)
    assert (record.meters.input, record.meters.output) == (900, 80)


def test_non_streamed_llm_records_are_not_billed_only_counted(app_services, ingest):
    other = "0d6a9d9e-1111-2222-3333-444455556666"
    result = ingest(envelope(gateway(other), llm(other, 50, 7, stream=False)))
    assert result.stored == 0 and stored(app_services) == []
    month = app_services.gateway_halves.month("2026-03")
    assert (month.streamed_calls, month.non_streamed_llm_calls, month.lone) == (0, 1, ())


def test_a_lone_half_is_listed_never_dropped(app_services, ingest):
    lonely_llm, lonely_request = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"
    ingest(envelope(llm(lonely_llm, 77, 11, time="2026-03-31T23:59:59.9000000Z")),
           envelope(gateway(lonely_request, time="2026-03-31T23:59:58Z")))
    assert stored(app_services) == []
    month = app_services.gateway_halves.month("2026-03")
    assert [(h.correlation_id, h.kind, h.prompt_tokens) for h in month.lone] == [
        (lonely_llm, "llm", 77), (lonely_request, "request", 0)]
    assert (month.lone_llm, month.lone_requests) == (1, 1)
    ingest(envelope(gateway(lonely_llm, time="2026-03-31T23:59:59.5Z")))   # its other half, late
    assert [r.record_id for r in stored(app_services)] == [lonely_llm]
    assert [h.correlation_id for h in app_services.gateway_halves.month("2026-03").lone] == [lonely_request]


def test_halves_across_a_month_boundary_are_not_lone(app_services, ingest):
    ingest(envelope(gateway(CALL, time="2026-03-31T23:59:59.9Z")),
           envelope(llm(CALL, 3, 4, time="2026-04-01T00:00:00.1Z")))
    assert app_services.gateway_halves.month("2026-03").lone == ()
    assert app_services.gateway_halves.month("2026-04").lone == ()
    assert [r.month for r in stored(app_services)] == ["2026-03"]


def test_bad_records_are_dead_lettered_good_ones_of_the_same_message_kept(app_services, ingest):
    bad = gateway("not a valid id!")
    result = ingest(envelope(bad, gateway(CALL), llm(CALL, 1, 2), {"category": "GatewayLlmLogs"}))
    assert result.dead_lettered == 1
    [letter] = list(app_services.dead_letters.list())
    assert "CorrelationId" in letter.reason and "records[0]" in letter.reason and "records[3]" in letter.reason
    assert [r.record_id for r in stored(app_services)] == [CALL]


def test_other_categories_are_skipped_and_v2_events_still_parse(app_services, ingest):
    v2 = {"schemaVersion": 2, "requestId": "11111111-2222-3333-4444-555555555555",
          "timestamp": "2026-03-02T08:00:00.000Z", "subscriptionId": "sub-dept-b", "deploymentId": "gpt-4o",
          "statusCode": 200, "stream": False, "usage": {"prompt_tokens": 5, "completion_tokens": 6}}
    result = ingest(RawEvent(json.dumps(v2).encode(), "1", 9),
                    envelope({"time": "2026-03-02T08:00:00Z", "category": "WebSocketConnectionLogs",
                              "properties": {}}))
    assert (result.stored, result.dead_lettered, result.gateway_halves) == (1, 0, 0)


def test_v2_event_and_gateway_logs_of_the_same_call_are_one_row(app_services, ingest):
    # A misconfigured API (the buffering v2 policy AND gateway-logs mode) meters a stream both ways:
    # context.RequestId is the CorrelationId (policies/README.md), so both land on one row.
    v2 = {"schemaVersion": 2, "requestId": CALL, "timestamp": "2026-03-14T10:00:00.123Z",
          "subscriptionId": "sub-dept-a", "deploymentId": "gpt-4o", "statusCode": 200, "stream": True,
          "usage": {"prompt_tokens": 1200, "completion_tokens": 345}}
    ingest(RawEvent(json.dumps(v2).encode(), "2", 4))
    ingest(envelope(gateway(CALL), llm(CALL, 1200, 345)))
    assert app_services.usage.count("2026-03") == 1


def test_replaying_a_dead_lettered_envelope_keeps_its_reason_and_stores_nothing_twice(app_services, ingest):
    from chargeback.workflow.ingesting import replay_dead_letters

    ingest(envelope(gateway("bad id!"), gateway(CALL), llm(CALL, 1, 2)))
    [letter] = list(app_services.dead_letters.list())
    result = replay_dead_letters(app_services.dead_letters, app_services.usage, None, app_services.gateway_halves)
    assert (result.replayed, result.still_invalid) == (0, 1)
    [again] = list(app_services.dead_letters.list())
    assert again.reason == letter.reason and "CorrelationId" in again.reason   # not "unknown schema"
    assert app_services.usage.count("2026-03") == 1


def test_a_set_aside_envelope_that_parses_now_is_replayed_into_its_call(app_services):
    from chargeback.usage.events import dead_letter
    from chargeback.workflow.ingesting import replay_dead_letters

    app_services.dead_letters.add([dead_letter(envelope(gateway(CALL), llm(CALL, 8, 9)), "set aside by hand")])
    result = replay_dead_letters(app_services.dead_letters, app_services.usage, None, app_services.gateway_halves)
    assert (result.replayed, result.still_invalid) == (1, 0)
    assert list(app_services.dead_letters.list()) == []
    [record] = stored(app_services)
    assert (record.record_id, record.meters.input, record.meters.output) == (CALL, 8, 9)
