"""The v2 policy's C# expressions, executed against a stand-in APIM context (mono's C# compiler, when installed)."""
from __future__ import annotations

import json

import pytest

from chargeback.usage.events import V2_FIELDS, RawEvent, parse_batch, parse_event
from tests.unit.policies.harness import (
    AZURE_FIRST,
    CHAT_PATH,
    DELTA,
    FINAL_USAGE,
    LAST,
    REQUEST_ID,
    SECRET,
    STOP,
    STREAM_HEADERS,
    USAGE_WITH_DETAILS,
    event_of,
    scenario,
    sse,
)


def test_a_json_response_is_logged_with_every_v2_field_and_the_usage_verbatim(policy_runner):
    (result,) = policy_runner(scenario())
    event = event_of(result)
    assert set(event) == set(V2_FIELDS)
    assert event == {
        "schemaVersion": 2, "requestId": REQUEST_ID, "timestamp": "2026-10-03T14:05:09.123Z",
        "subscriptionId": "sub-mkt-01", "subscriptionName": "Marketing", "productName": "Starter",
        "deploymentId": "gpt-4o", "operationId": "ChatCompletions_Create", "apiVersion": "2024-10-21",
        "region": "East US", "statusCode": 200, "stream": False, "model": "gpt-4o-2024-08-06",
        "usage": USAGE_WITH_DETAILS, "path": "/chat/completions", "inputCharacters": None,
        "endUser": None, "tags": None, "servedDeployment": None,
    }
    assert result["partitionKey"] == REQUEST_ID
    assert result["includeUsage"] is False and "requestBody" not in result


def test_the_logged_event_is_a_record_for_ingest(policy_runner):
    (result,) = policy_runner(scenario())
    record = parse_event(RawEvent(body=result["event"].encode("utf-8")))
    assert (record.record_id, record.subscription, record.deployment) == (REQUEST_ID, "sub-mkt-01", "gpt-4o")
    assert (record.prompt_tokens, record.cached_tokens, record.completion_tokens, record.reasoning_tokens) == (
        1566, 1408, 1843, 448)
    assert record.metered and record.month == "2026-10"


def test_no_key_reaches_the_event_even_when_the_caller_sent_one(policy_runner):
    results = policy_runner(scenario(), scenario(response={"headers": STREAM_HEADERS, "body": sse(AZURE_FIRST, LAST)}))
    for result in results:
        assert SECRET not in result["event"]


@pytest.mark.parametrize("culture", ["en-US", "", "fi-FI", "ar-SA", "th-TH"])
def test_the_timestamp_is_iso_utc_with_milliseconds_in_any_gateway_culture(policy_runner, culture):
    (result,) = policy_runner(scenario(culture=culture, timestamp="2026-01-31T23:59:58.007Z"))
    assert event_of(result)["timestamp"] == "2026-01-31T23:59:58.007Z"


def test_a_streamed_chat_completion_asks_for_usage_and_keeps_the_request(policy_runner):
    sent = {"messages": [{"role": "user", "content": "hi"}], "stream": True, "temperature": 0,
            "stream_options": {"include_usage": False, "other": 1}}
    (result,) = policy_runner(scenario(request={"body": json.dumps(sent)}))
    assert result["includeUsage"] is True
    assert json.loads(result["requestBody"]) == {**sent, "stream_options": {"include_usage": True, "other": 1}}
    (fresh,) = policy_runner(scenario(request={"body": json.dumps({"messages": [], "stream": True})}))
    assert json.loads(fresh["requestBody"]) == {"messages": [], "stream": True,
                                                "stream_options": {"include_usage": True}}


@pytest.mark.parametrize("request_change", [
    {"body": json.dumps({"messages": [], "stream": False})},
    {"body": json.dumps({"messages": [], "stream": "true"})},                       # not a boolean
    {"body": json.dumps({"messages": []})},
    {"body": "not json"},
    {"body": None, "method": "GET"},
    {"path": "/openai/deployments/emb/embeddings", "body": json.dumps({"input": "x", "stream": True})},
    {"query": {"api-version": "2024-06-01"}, "body": json.dumps({"messages": [], "stream": True})},
    {"query": {"api-version": "2023-05-15"}, "body": json.dumps({"messages": [], "stream": True})},
])
def test_other_requests_are_forwarded_untouched(policy_runner, request_change):
    (result,) = policy_runner(scenario(request=request_change))
    assert result["includeUsage"] is False and "requestBody" not in result


@pytest.mark.parametrize("api_version", ["2024-08-01-preview", "2024-10-21", "2025-04-01-preview", "preview", None])
def test_api_versions_that_accept_stream_options_get_it(policy_runner, api_version):
    query = {} if api_version is None else {"api-version": api_version}
    (result,) = policy_runner(scenario(request={"query": query, "body": json.dumps({"messages": [], "stream": True})}))
    assert result["includeUsage"] is True


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_stream_is_billed_from_its_last_chunk_with_usage(policy_runner, newline):
    body = sse(AZURE_FIRST, DELTA, STOP, LAST, "[DONE]", newline=newline)
    (result,) = policy_runner(scenario(response={"headers": STREAM_HEADERS, "body": body}))
    event = event_of(result)
    assert (event["stream"], event["usage"], event["model"]) == (True, FINAL_USAGE, "gpt-4o-mini-2024-07-18")
    record = parse_event(RawEvent(body=result["event"].encode("utf-8")))
    assert (record.prompt_tokens, record.completion_tokens, record.metered, record.stream) == (84, 68, True, True)


def test_usage_counts_wherever_it_arrives_not_by_empty_choices(policy_runner):
    # Some backends put usage on the chunk with the last choice; a trailing chunk without usage
    # (here: empty choices) must not erase it.
    with_choice = {**STOP, "usage": FINAL_USAGE}
    trailing = {"choices": [], "id": "chatcmpl-9", "model": "gpt-4o-mini-2024-07-18", "usage": None}
    body = sse(AZURE_FIRST, DELTA, with_choice, trailing, "[DONE]")
    (result,) = policy_runner(scenario(response={"headers": STREAM_HEADERS, "body": body}))
    assert event_of(result)["usage"] == FINAL_USAGE


def test_a_stream_without_usage_is_logged_unmetered_not_dropped(policy_runner):
    body = sse(AZURE_FIRST, DELTA, STOP, "[DONE]")
    (result,) = policy_runner(scenario(response={"headers": STREAM_HEADERS, "body": body}))
    event = event_of(result)
    assert (event["stream"], event["usage"], event["model"]) == (True, None, "gpt-4o-mini-2024-07-18")
    assert parse_event(RawEvent(body=result["event"].encode("utf-8"))).metered is False


def test_a_responses_api_stream_is_billed_from_response_completed(policy_runner):
    usage = {"input_tokens": 13, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 12,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 25}
    body = ("event: response.created\n"
            + sse({"type": "response.created", "response": {"id": "resp_1", "model": "gpt-4.1", "usage": None}})
            + "event: response.output_text.delta\n" + sse({"type": "response.output_text.delta", "delta": "Hi"})
            + "event: response.completed\n"
            + sse({"type": "response.completed", "response": {"id": "resp_1", "model": "gpt-4.1", "usage": usage}}))
    (result,) = policy_runner(scenario(request={"path": "/openai/responses"},
                                       response={"headers": STREAM_HEADERS, "body": body}))
    event = event_of(result)
    assert (event["usage"], event["model"]) == (usage, "gpt-4.1")


def test_a_body_that_is_not_json_is_logged_without_usage_instead_of_failing_the_call(policy_runner):
    (result,) = policy_runner(scenario(response={"headers": {"Content-Type": "audio/mpeg"}, "body": "ID3\u0004binary"}))
    assert event_of(result)["usage"] is None


def test_missing_context_is_logged_as_null_not_an_error(policy_runner):
    (result,) = policy_runner(scenario(subscription=None, product=None, operation=None,
                                       request={"path": "/openai/v1/chat/completions", "query": {}, "matched": {}}))
    event = event_of(result)
    assert [event[k] for k in ("subscriptionId", "subscriptionName", "productName", "deploymentId",
                               "operationId", "apiVersion")] == [None] * 6


@pytest.mark.parametrize("status", [400, 429, 500])
def test_failed_calls_are_not_logged(policy_runner, status):
    (result,) = policy_runner(scenario(response={"status": status, "body": "{}"}))
    assert result["logged"] is False and "event" not in result


# ---------------------------------------------------------------- the v1 API: the deployment is the body's model

V1_API = {"query": {}, "matched": {}}  # /openai/v1/...: no api-version needed, no deployment-id in the route


@pytest.mark.parametrize(("path", "sent"), [
    ("/openai/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    ("/openai/v1/responses", {"input": "hi", "model": "gpt-4o-mini", "store": False}),
    ("/openai/v1/embeddings", {"model": "gpt-4o-mini", "input": ["a", "b"]}),
])
def test_a_v1_api_call_is_logged_with_the_deployment_named_in_its_body(policy_runner, path, sent):
    (result,) = policy_runner(scenario(request={**V1_API, "path": path, "body": json.dumps(sent)}))
    event = event_of(result)
    assert set(event) == set(V2_FIELDS)
    assert event["deploymentId"] == "gpt-4o-mini"
    record = parse_event(RawEvent(body=result["event"].encode("utf-8")))
    assert (record.deployment, record.prompt_tokens) == ("gpt-4o-mini", 1566)
    assert SECRET not in result["event"]


def test_a_v1_api_stream_gets_usage_and_still_names_its_deployment(policy_runner):
    sent = {"model": "gpt-4o-mini", "messages": [], "stream": True}
    (result,) = policy_runner(scenario(
        request={**V1_API, "path": "/openai/v1/chat/completions", "body": json.dumps(sent)},
        response={"headers": STREAM_HEADERS, "body": sse(AZURE_FIRST, DELTA, LAST, "[DONE]")}))
    assert json.loads(result["requestBody"])["stream_options"] == {"include_usage": True}
    event = event_of(result)
    assert (event["deploymentId"], event["model"], event["usage"]) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18",
                                                                       FINAL_USAGE)


def test_the_route_names_the_deployment_when_it_has_one_whatever_the_body_says(policy_runner):
    sent = {"model": "gpt-35-turbo", "messages": [{"role": "user", "content": "hi"}]}
    (result,) = policy_runner(scenario(request={"path": CHAT_PATH, "matched": {"deployment-id": "gpt-4o"},
                                                "body": json.dumps(sent)}))
    assert event_of(result)["deploymentId"] == "gpt-4o"
    assert result["requestModel"] == ""  # the route answered: the body is not parsed for it
    assert parse_event(RawEvent(body=result["event"].encode("utf-8"))).deployment == "gpt-4o"


@pytest.mark.parametrize("request_change", [
    {"body": "not json"},
    {"body": json.dumps({"messages": [{"role": "user", "content": "hi"}]})},           # no model
    {"body": json.dumps({"model": 4, "messages": []})},                                 # not a string
    {"body": json.dumps({"model": None, "messages": []})},
    {"body": json.dumps({"model": {"name": "gpt-4o-mini"}, "messages": []})},
    {"body": json.dumps({"model": "  ", "messages": []})},
    {"body": json.dumps([{"model": "gpt-4o-mini"}])},                                   # not an object
    {"body": json.dumps({"input": {"model": "gpt-4o-mini"}})},                          # not top-level
    {"body": json.dumps({"model": "gpt-4o-mini"}), "headers": {"Content-Type": "text/plain"}},
    {"body": json.dumps({"model": "gpt-4o-mini"}), "headers": {}},                      # no Content-Type
    {"body": None, "method": "GET", "path": "/openai/v1/models"},
])
def test_a_v1_api_call_without_a_model_in_a_json_body_has_no_deployment_and_is_still_recorded(
        policy_runner, request_change):
    (result,) = policy_runner(scenario(request={**V1_API, "path": "/openai/v1/chat/completions", **request_change}))
    event = event_of(result)
    assert set(event) == set(V2_FIELDS)
    assert event["deploymentId"] is None
    records, dead = parse_batch([RawEvent(body=result["event"].encode("utf-8"))])
    assert dead == [] and [(r.record_id, r.deployment, r.prompt_tokens) for r in records] == [(REQUEST_ID, "", 1566)]
