"""Parsing API Management resource-log records (Azure Monitor envelopes) into halves; completing a streamed call."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargeback.errors import InvalidEvent
from chargeback.usage.gateway_logs import (
    LlmHalf,
    RequestHalf,
    complete,
    is_monitor_envelope,
    parse_envelope,
    parse_llm_half,
    parse_request_half,
)

CALL = "5D1E8A8B-0C35-4E0F-9B7A-3C2D1E0F9A8B"


def request(**properties) -> dict:
    return {"time": "2026-05-31T23:59:59.9999999Z", "category": "GatewayLogs", "correlationId": CALL,
            "properties": {"apimSubscriptionId": "sub-a", "responseCode": 200, **properties}}


def llm(**properties) -> dict:
    return {"time": "2026-06-01T00:00:01Z", "category": "GatewayLlmLogs",
            "properties": {"CorrelationId": CALL, "DeploymentName": "gpt-4o", "ModelName": "gpt-4o-2024-11-20",
                           "PromptTokens": 11, "CompletionTokens": 22, "IsStreamCompletion": True, **properties}}


def test_an_envelope_is_an_object_with_a_records_list_and_no_schema_version():
    assert is_monitor_envelope({"records": []})
    assert not is_monitor_envelope({"records": {}})
    assert not is_monitor_envelope({"schemaVersion": 2, "records": []})
    assert not is_monitor_envelope([{"records": []}])


def test_a_request_half_reads_fields_in_any_case_properties_first():
    half = parse_request_half(request(ProductId="chat", APIID="azure-openai", operationId="Chat_Create"))
    assert half == RequestHalf(CALL.lower(), datetime(2026, 5, 31, 23, 59, 59, 999999, tzinfo=UTC), "sub-a",
                               "chat", "azure-openai", "Chat_Create", 200, "")
    assert half.month == "2026-05"   # seven fractional digits cut to six, never rounded into June


def test_a_time_with_an_offset_is_read_as_utc():
    half = parse_request_half({**request(), "time": "2026-06-01T01:30:00.5+02:00"})
    assert half.time == datetime(2026, 5, 31, 23, 30, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize(("change", "reason"), [
    ({"apimSubscriptionId": ""}, "no subscription"),
    ({"apimSubscriptionId": 7}, "ApimSubscriptionId must be text"),
    ({"responseCode": "200"}, "ResponseCode"),
    ({"responseCode": True}, "ResponseCode"),
])
def test_a_bad_request_half_says_why(change, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_request_half(request(**change))


@pytest.mark.parametrize(("record", "reason"), [
    ({**request(), "correlationId": "a/b"}, "CorrelationId"),
    ({**request(), "time": "yesterday"}, "time must be"),
    ({**request(), "time": "1999-12-31T23:59:59Z"}, "invoiceable"),
    ({**request(), "time": "2026-02-30T00:00:00Z"}, "not a valid date"),
])
def test_bad_ids_and_times_are_refused(record, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_request_half(record)


@pytest.mark.parametrize(("change", "reason"), [
    ({"PromptTokens": -1}, "PromptTokens"), ({"CompletionTokens": 1.5}, "CompletionTokens"),
    ({"IsStreamCompletion": "true"}, "IsStreamCompletion"), ({"SequenceNumber": False}, "SequenceNumber"),
])
def test_a_bad_llm_half_says_why(change, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_llm_half(llm(**change))


def test_the_envelope_keeps_good_records_and_names_bad_ones_by_index_other_categories_skipped():
    halves, problems = parse_envelope({"records": [request(), "x", llm(PromptTokens="many"),
                                                   {"category": "WebSocketConnectionLogs"}, llm()]})
    assert [type(h).__name__ for h in halves] == ["RequestHalf", "LlmHalf"]
    assert len(problems) == 2 and problems[0].startswith("records[1]") and problems[1].startswith("records[2]")


def test_a_streamed_call_completes_with_the_request_time_and_subscription_and_no_cached_tokens():
    record = complete(parse_request_half(request()), [parse_llm_half(llm())])
    assert record is not None
    assert (record.record_id, record.subscription, record.deployment, record.model) == \
        (CALL.lower(), "sub-a", "gpt-4o", "gpt-4o-2024-11-20")
    assert (record.meters.input, record.meters.cached_input, record.meters.output) == (11, 0, 22)
    assert record.month == "2026-05" and record.stream and record.source == "gateway-logs"


def test_split_entries_are_taken_once_and_a_non_streamed_call_is_not_completed():
    when = datetime(2026, 6, 1, tzinfo=UTC)
    req = RequestHalf("c", when, "sub-a")
    parts = [LlmHalf("c", when, 1, "gpt-4o", "m", 100, 0, True), LlmHalf("c", when, 0, "gpt-4o", "m", 100, 40, True)]
    record = complete(req, parts)
    assert record is not None and (record.meters.input, record.meters.output) == (100, 40)
    assert complete(req, [LlmHalf("c", when, 0, "gpt-4o", "m", 5, 5, False)]) is None
    assert complete(req, []) is None
