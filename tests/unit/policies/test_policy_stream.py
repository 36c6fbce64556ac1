"""policies/usage-v2-stream.xml (issue 15): streams forwarded unbuffered, never read, never logged; non-streamed
calls logged exactly as usage-v2.xml logs them. The expressions run under mono like the v2 policy's."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from chargeback.usage.events import RawEvent, parse_event
from tests.conftest import require_tool
from tests.unit.policies.harness import (
    CHAT_PATH,
    DELTA,
    HARNESS_MAIN,
    LAST,
    MCS,
    MONO,
    NEWTONSOFT,
    POLICIES,
    REQUEST_ID,
    STREAM_HEADERS,
    USAGE_WITH_DETAILS,
    V2,
    build_runner,
    scenario,
    sse,
    v2_expressions,
)

STREAM = POLICIES / "usage-v2-stream.xml"
VARIABLES = ["chargeback-stream", "chargeback-include-usage", "chargeback-request-model", "chargeback-input-characters"]

# The v2 harness's Main, with the stream variable first and the backend's choice recorded.
STREAM_MAIN = HARNESS_MAIN.replace(
    "var include = (bool)IncludeUsage(c);",
    'var isStream = (bool)StreamVariable(c); variables["chargeback-stream"] = isStream; r["stream"] = isStream;\n'
    '                r["unbuffered"] = (bool)BackendCondition(c);\n'
    "                var include = (bool)IncludeUsage(c);")


def stream_expressions() -> dict[str, str]:
    """The v2 policy's expressions as the stream variant has them, and the variant's own two."""
    root = ET.parse(STREAM).getroot()  # noqa: S314 (our own policy file)
    return {"StreamVariable": root.find("inbound/set-variable[@name='chargeback-stream']").get("value"),
            **v2_expressions(STREAM, VARIABLES),
            "BackendCondition": root.find("backend/choose/when").get("condition")}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require_tool(bool(MCS and MONO and NEWTONSOFT),
                 "mono's C# compiler and Json.NET (mono-mcs libnewtonsoft-json5.0-cil)")
    return build_runner(tmp_path_factory.mktemp("stream-policy"), stream_expressions(), STREAM_MAIN)


STREAM_REQUEST = json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": True})


def streamed(**response) -> dict:
    body = response.pop("body", sse(DELTA, LAST, "[DONE]"))
    return scenario(request={"body": STREAM_REQUEST},
                    response={"headers": response.pop("headers", STREAM_HEADERS), "body": body, **response})


def test_a_streamed_call_is_forwarded_unbuffered_and_not_logged(run):
    (result,) = run(streamed())
    assert (result["stream"], result["unbuffered"], result["logged"]) == (True, True, False)
    assert "event" not in result
    assert result["includeUsage"] is True   # the stream still ends with Azure OpenAI's usage chunk
    assert json.loads(result["requestBody"])["stream_options"] == {"include_usage": True}


def test_an_event_stream_answer_to_a_request_that_did_not_ask_for_one_is_not_logged(run):
    (result,) = run(scenario(response={"headers": STREAM_HEADERS, "body": sse(DELTA, LAST)}))
    assert (result["stream"], result["unbuffered"], result["logged"]) == (False, False, False)


def test_a_non_streamed_call_is_buffered_as_inherited_and_logged_like_v2(run):
    (result,) = run(scenario())
    assert (result["stream"], result["unbuffered"], result["logged"]) == (False, False, True)
    event = json.loads(result["event"])
    assert event["requestId"] == REQUEST_ID and event["stream"] is False
    assert event["usage"] == USAGE_WITH_DETAILS and event["path"] == "/chat/completions"
    record = parse_event(RawEvent(result["event"].encode()))
    assert (record.meters.input, record.meters.cached_input, record.meters.output) == (1566 - 1408, 1408, 1843)


def test_stream_false_or_a_broken_body_is_not_a_stream(run):
    results = run(scenario(request={"body": json.dumps({"messages": [], "stream": False})}),
                  scenario(request={"body": "{not json"}),
                  scenario(request={"body": json.dumps({"stream": "true"})}),
                  scenario(request={"body": None}))
    assert [r["stream"] for r in results] == [False, False, False, False]
    assert [r["logged"] for r in results] == [True, True, True, True]


def test_a_failed_call_is_not_logged(run):
    (result,) = run(scenario(response={"status": 429}))
    assert result["logged"] is False


def test_the_stream_branch_is_gone_no_expression_reads_a_streamed_body():
    text = STREAM.read_text()
    expressions = stream_expressions()
    # only the log expression (which runs only for non-streamed calls) reads the response body, once
    assert [name for name, e in expressions.items() if "Response.Body" in e] == ["LogEvent"]
    assert expressions["LogEvent"].count("Response.Body") == 1
    assert "Response.Body" not in expressions["LogCondition"] and "text/event-stream" in expressions["LogCondition"]
    assert 'buffer-response="false"' in text
    root = ET.parse(STREAM).getroot()  # noqa: S314
    forward = root.find("backend/choose/when/forward-request")
    assert forward is not None and forward.get("buffer-response") == "false"
    assert root.find("backend/choose/otherwise/base") is not None


def _properties(expression: str) -> set[str]:
    return set(re.findall(r'new JProperty\("([A-Za-z]+)"', expression))


def test_the_stream_variant_emits_the_same_fields_as_v2():
    # A field added to usage-v2.xml must be added here too (and the other way round).
    v2_log = ET.parse(V2).getroot().find("outbound/choose/when/log-to-eventhub").text  # noqa: S314
    assert _properties(stream_expressions()["LogEvent"]) == _properties(v2_log)


def test_the_v1_route_deployment_still_comes_from_the_body(run):
    body = json.dumps({"model": "gpt-4o-mini", "messages": []})
    (result,) = run(scenario(request={"path": "/openai/v1/chat/completions", "matched": {}, "body": body}))
    assert json.loads(result["event"])["deploymentId"] == "gpt-4o-mini"
    assert CHAT_PATH.endswith("/chat/completions")
