"""policies/: well-formed XML, the v2 wire contract, no subscription key in any log, and the v2
policy's C# expressions run against a stand-in APIM context (mono's C# compiler, when installed)."""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from decimal import Decimal
from glob import glob
from pathlib import Path

import pytest

from chargeback.usage.events import V1_FIELDS, V2_FIELDS, RawEvent, parse_batch, parse_event
from tests.conftest import require_tool

POLICIES = Path(__file__).resolve().parents[3] / "policies"
V2 = POLICIES / "usage-v2.xml"
V1 = POLICIES / "usage-v1-seed.xml"
POLICY_FILES = sorted(POLICIES.glob("*.xml"))

# Anything that reads a subscription key or a credential header.
SECRET_PATTERNS = [
    re.compile(r"Subscription\s*\??\s*\.\s*(Key|PrimaryKey|SecondaryKey)\b"),
    re.compile(r"\b(PrimaryKey|SecondaryKey)\b"),
    re.compile(r"Ocp-Apim-Subscription-Key", re.IGNORECASE),
    re.compile(r"[\"']api-key[\"']", re.IGNORECASE),
    re.compile(r"[\"']Authorization[\"']", re.IGNORECASE),
]


def secret_references(expression: str) -> list[str]:
    """Every place an expression touches a subscription key or a credential header."""
    return [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.finditer(expression)]


def logged_expressions(path: Path) -> list[str]:
    """The text and attributes of every log-to-eventhub of a policy (entities decoded)."""
    return [" ".join([e.text or "", *e.attrib.values()]) for e in ET.parse(path).getroot().iter("log-to-eventhub")]  # noqa: S314 (our own policy files)


def emitted_properties(expression: str) -> set[str]:
    return set(re.findall(r'new\s+JProperty\(\s*"([^"]+)"', expression))


# ---------------------------------------------------------------- XML

@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policy_is_a_well_formed_complete_document(path):
    root = ET.parse(path).getroot()  # noqa: S314 (our own policy files)
    assert root.tag == "policies"
    assert [child.tag for child in root] == ["inbound", "backend", "outbound", "on-error"]
    for section in root:
        assert section[0].tag == "base", f"{section.tag} must keep the policies of outer scopes"


def test_raw_csharp_generics_are_not_xml_so_the_files_escape_them():
    with pytest.raises(ET.ParseError):
        ET.fromstring("<log-to-eventhub>@(context.Response.Body.As<JObject>(true))</log-to-eventhub>")  # noqa: S314
    for path in POLICY_FILES:
        assert "As<" not in path.read_text() and "&&" not in path.read_text()


def test_both_policies_exist():
    assert {V1, V2} <= set(POLICY_FILES)


# ---------------------------------------------------------------- the wire contract

def test_v2_emits_exactly_the_fields_ingest_reads():
    (expression,) = logged_expressions(V2)
    assert emitted_properties(expression) == set(V2_FIELDS)


def test_v1_seed_emits_the_v1_fields():
    (expression,) = logged_expressions(V1)
    assert emitted_properties(expression) == set(V1_FIELDS)


def test_v2_logs_once_on_success_to_the_chargeback_logger_keyed_by_request():
    root = ET.parse(V2).getroot()  # noqa: S314 (our own policy files)
    (log,) = root.iter("log-to-eventhub")
    assert log.get("logger-id") == "chargeback-usage-logger"
    assert log.get("partition-key") == "@(context.RequestId.ToString())"
    assert log.get("partition-id") is None  # one or the other, never both
    (when,) = root.find("outbound").iter("when")
    assert when.get("condition") == "@(context.Response.StatusCode == 200)"
    assert log in list(when)


# ---------------------------------------------------------------- secrets

@pytest.mark.parametrize(("expression", "found"), [
    ('context.Subscription.Key', True),
    ('context.Subscription?.Key', True),
    ('context.Subscription.PrimaryKey', True),
    ('context.Subscription.SecondaryKey', True),
    ('context.Request.Headers.GetValueOrDefault("Ocp-Apim-Subscription-Key", "")', True),
    ('context.Request.Headers.GetValueOrDefault("api-key", "")', True),
    ('context.Request.Headers.GetValueOrDefault("Authorization", "")', True),
    ('context.Subscription.Id + context.Subscription.Name', False),
    ('new JProperty("subscriptionId", context.Subscription.Id)', False),
])
def test_the_secret_check_recognizes_key_reads(expression, found):
    assert bool(secret_references(expression)) is found


def test_v2_never_logs_a_subscription_key():
    for expression in logged_expressions(V2):
        assert secret_references(expression) == []
    # nor stashes one in a variable or header on the way: nothing in the whole policy reads one
    body = "".join(ET.parse(V2).getroot().itertext()) + " ".join(  # noqa: S314 (our own policy files)
        v for e in ET.parse(V2).getroot().iter() for v in e.attrib.values())  # noqa: S314 (our own policy files)
    assert secret_references(body) == []


def test_the_same_check_flags_the_v1_seed_policy():
    flagged = [ref for expression in logged_expressions(V1) for ref in secret_references(expression)]
    assert flagged == ["Ocp-Apim-Subscription-Key"]
    assert "raw" in V1.read_text().lower() and "fingerprint" in V1.read_text().lower()


# ---------------------------------------------------------------- the C# expressions, executed

MCS, MONO = shutil.which("mcs"), shutil.which("mono")
NEWTONSOFT = sorted(glob("/usr/lib/mono/gac/Newtonsoft.Json/*/Newtonsoft.Json.dll")
                    + glob("/usr/lib/cli/Newtonsoft.Json*/Newtonsoft.Json.dll"), reverse=True)

# A stand-in for the members of APIM's context that the policy uses; bodies honour preserveContent.
HARNESS_PRELUDE = r"""
using System; using System.Collections.Generic; using System.Globalization; using System.Linq;
using System.IO; using System.Text; using System.Threading; using Newtonsoft.Json; using Newtonsoft.Json.Linq;

public class MessageBody {
    readonly string text; bool consumed;
    public MessageBody(string text) { this.text = text; }
    public T As<T>(bool preserveContent = false) {
        if (consumed) throw new InvalidOperationException("body already consumed");
        if (!preserveContent) consumed = true;
        if (typeof(T) == typeof(string)) return (T)(object)text;
        if (typeof(T) == typeof(JObject)) return (T)(object)JObject.Parse(text);
        throw new NotSupportedException(typeof(T).Name);
    }
}
public class Url { public string Path; public IReadOnlyDictionary<string, string[]> Query; }
public class Request {
    public MessageBody Body; public Url Url; public Url OriginalUrl; public string Method;
    public IReadOnlyDictionary<string, string> MatchedParameters; public IReadOnlyDictionary<string, string[]> Headers;
}
public class Response {
    public MessageBody Body; public int StatusCode; public IReadOnlyDictionary<string, string[]> Headers;
}
public class Subscription { public string Id, Name, Key, PrimaryKey, SecondaryKey; }
public class Product { public string Name; }
public class Operation { public string Id; }
public class Deployment { public string Region; }
public class Context {
    public Guid RequestId; public DateTime Timestamp; public Request Request; public Response Response;
    public Subscription Subscription; public Product Product; public Operation Operation; public Deployment Deployment;
    public IReadOnlyDictionary<string, object> Variables = new Dictionary<string, object>();
}
public static class ApimExtensions {
    public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> values, string name,
                                           string defaultValue) {
        string[] found; return values.TryGetValue(name, out found) ? string.Join(",", found) : defaultValue;
    }
    public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> values, string name, T defaultValue) {
        object found; return values.TryGetValue(name, out found) ? (T)found : defaultValue;
    }
}
public static class Policy {
"""

HARNESS_MAIN = r"""
    static Dictionary<string, string[]> Multi(JToken o) {
        var d = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        if (o != null && o.Type == JTokenType.Object)
            foreach (var p in (JObject)o) d[p.Key] = new[] { (string)p.Value };
        return d;
    }
    static Context Build(JObject s) {
        var rq = (JObject)s["request"]; var rs = (JObject)s["response"];
        var url = new Url { Path = (string)rq["path"], Query = Multi(rq["query"]) };
        var matched = new Dictionary<string, string>();
        if (rq["matched"] != null) foreach (var p in (JObject)rq["matched"]) matched[p.Key] = (string)p.Value;
        var c = new Context {
            RequestId = Guid.Parse((string)s["requestId"]),
            Timestamp = DateTime.SpecifyKind(DateTime.Parse((string)s["timestamp"], CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), DateTimeKind.Utc),
            Request = new Request {
                Body = rq["body"].Type == JTokenType.Null ? null : new MessageBody((string)rq["body"]),
                Url = url, OriginalUrl = url, Method = (string)rq["method"], MatchedParameters = matched,
                Headers = Multi(rq["headers"]) },
            Response = new Response { StatusCode = (int)rs["status"], Body = new MessageBody((string)rs["body"]),
                Headers = Multi(rs["headers"]) },
            Deployment = new Deployment { Region = (string)s["region"] },
        };
        if (s["subscription"].Type != JTokenType.Null) c.Subscription = s["subscription"].ToObject<Subscription>();
        if (s["product"].Type != JTokenType.Null) c.Product = new Product { Name = (string)s["product"] };
        if (s["operation"].Type != JTokenType.Null) c.Operation = new Operation { Id = (string)s["operation"] };
        return c;
    }
    public static void Main() {
        var results = new JArray();
        var reader = new JsonTextReader(new StringReader(Console.In.ReadToEnd())) {
            DateParseHandling = DateParseHandling.None };
        foreach (JObject s in JArray.Load(reader)) {
            var r = new JObject();
            try {
                Thread.CurrentThread.CurrentCulture = new CultureInfo((string)s["culture"]);
                var c = Build(s);
                var variables = new Dictionary<string, object>();
                c.Variables = variables;
                var include = (bool)IncludeUsage(c);
                variables["chargeback-include-usage"] = include;
                r["includeUsage"] = include;
                var requestModel = (string)RequestModel(c);
                variables["chargeback-request-model"] = requestModel;
                r["requestModel"] = requestModel;
                var inputCharacters = (int)InputCharacters(c);
                variables["chargeback-input-characters"] = inputCharacters;
                r["inputCharacters"] = inputCharacters;
                if ((bool)RewriteCondition(c)) {
                    var rewritten = (string)RewriteBody(c);
                    r["requestBody"] = rewritten;
                    c.Request.Body = new MessageBody(rewritten);
                }
                r["logged"] = (bool)LogCondition(c);
                r["partitionKey"] = (string)PartitionKey(c);
                if ((bool)r["logged"]) r["event"] = (string)LogEvent(c);
            } catch (Exception e) { r["error"] = e.ToString(); }
            results.Add(r);
        }
        Console.Out.Write(results.ToString(Formatting.None));
    }
}
"""


def as_method(name: str, expression: str) -> str:
    """A policy expression as a static C# method over the stand-in context."""
    expression = expression.strip()
    if expression.startswith("@{") and expression.endswith("}"):
        return f"    public static object {name}(Context context) {{\n{expression[2:-1]}\n    }}\n"
    assert expression.startswith("@(") and expression.endswith(")"), expression[:40]
    return f"    public static object {name}(Context context) {{ return ({expression[2:-1]}); }}\n"


# The harness sets the inbound variables in this order, the policy's order.
INBOUND_VARIABLES = ["chargeback-include-usage", "chargeback-request-model", "chargeback-input-characters"]


def v2_expressions() -> dict[str, str]:
    root = ET.parse(V2).getroot()  # noqa: S314 (our own policy files)
    inbound, outbound = root.find("inbound"), root.find("outbound")
    log = outbound.find("choose/when/log-to-eventhub")
    # a variable the harness does not know would be missing from every run: fail here instead
    assert [v.get("name") for v in inbound.iter("set-variable")] == INBOUND_VARIABLES
    return {
        "IncludeUsage": inbound.find("set-variable[@name='chargeback-include-usage']").get("value"),
        "RequestModel": inbound.find("set-variable[@name='chargeback-request-model']").get("value"),
        "InputCharacters": inbound.find("set-variable[@name='chargeback-input-characters']").get("value"),
        "RewriteCondition": inbound.find("choose/when").get("condition"),
        "RewriteBody": inbound.find("choose/when/set-body").text,
        "LogCondition": outbound.find("choose/when").get("condition"),
        "PartitionKey": log.get("partition-key"),
        "LogEvent": log.text,
    }


@pytest.fixture(scope="module")
def policy_runner(tmp_path_factory):
    require_tool(bool(MCS and MONO and NEWTONSOFT),
                 "mono's C# compiler and Json.NET (mono-mcs libnewtonsoft-json5.0-cil)")
    work = tmp_path_factory.mktemp("policy")
    shutil.copy(NEWTONSOFT[0], work / "Newtonsoft.Json.dll")
    source = HARNESS_PRELUDE + "".join(as_method(n, e) for n, e in v2_expressions().items()) + HARNESS_MAIN
    (work / "policy.cs").write_text(source)
    build = subprocess.run([MCS, "-nologo", "-r:Newtonsoft.Json.dll", "-r:System.Core.dll", "-out:policy.exe",
                            "policy.cs"], cwd=work, capture_output=True, text=True, timeout=120, check=False)
    assert build.returncode == 0, build.stdout + build.stderr

    def run(*scenarios: dict) -> list[dict]:
        done = subprocess.run([MONO, "policy.exe"], cwd=work, input=json.dumps(scenarios),
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        results = json.loads(done.stdout)
        for result in results:
            assert "error" not in result, result["error"]
        return results

    return run


REQUEST_ID = "3f2b8c1e-7d4a-4b6e-9c0f-1a2b3c4d5e6f"
CHAT_PATH = "/openai/deployments/gpt-4o/chat/completions"
SECRET = "0123456789abcdef0123456789abcdef"


def scenario(**changes) -> dict:
    """A successful non-streamed chat completion through a department's subscription."""
    base = {
        "requestId": REQUEST_ID, "timestamp": "2026-10-03T14:05:09.123Z", "culture": "en-US",
        "region": "East US", "product": "Starter", "operation": "ChatCompletions_Create",
        "subscription": {"Id": "sub-mkt-01", "Name": "Marketing", "Key": SECRET, "PrimaryKey": SECRET,
                         "SecondaryKey": SECRET + "2"},
        "request": {"method": "POST", "path": CHAT_PATH, "query": {"api-version": "2024-10-21"},
                    "matched": {"deployment-id": "gpt-4o"},
                    "headers": {"Ocp-Apim-Subscription-Key": SECRET, "api-key": SECRET,
                                "Content-Type": "application/json"},
                    "body": json.dumps({"messages": [{"role": "user", "content": "hi"}], "temperature": 0.2})},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                     "body": json.dumps({"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06", "object": "chat.completion",
                                         "choices": [], "usage": USAGE_WITH_DETAILS})},
    }
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key in ("request", "response"):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


USAGE_WITH_DETAILS = {"completion_tokens": 1843, "prompt_tokens": 1566, "total_tokens": 3409,
                      "completion_tokens_details": {"audio_tokens": None, "reasoning_tokens": 448},
                      "prompt_tokens_details": {"audio_tokens": None, "cached_tokens": 1408}}
FINAL_USAGE = {"completion_tokens": 68, "completion_tokens_details": {"accepted_prediction_tokens": 0,
               "audio_tokens": 0, "reasoning_tokens": 0, "rejected_prediction_tokens": 0}, "prompt_tokens": 84,
               "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0}, "total_tokens": 152}


def sse(*chunks: object, newline: str = "\n") -> str:
    return "".join(f"data: {c if isinstance(c, str) else json.dumps(c)}{newline}{newline}" for c in chunks)


# Azure's stream: a first chunk with empty choices and model "" (prompt filter results), deltas
# with "usage": null, then (with include_usage) a last chunk with empty choices and the usage.
AZURE_FIRST = {"choices": [], "created": 0, "id": "", "model": "", "object": "",
               "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}
DELTA = {"choices": [{"delta": {"content": "Hel"}, "finish_reason": None, "index": 0}], "id": "chatcmpl-9",
         "model": "gpt-4o-mini-2024-07-18", "object": "chat.completion.chunk", "usage": None}
STOP = {"choices": [{"delta": {}, "finish_reason": "stop", "index": 0}], "id": "chatcmpl-9",
        "model": "gpt-4o-mini-2024-07-18", "object": "chat.completion.chunk", "usage": None}
LAST = {"choices": [], "id": "chatcmpl-9", "model": "gpt-4o-mini-2024-07-18", "object": "chat.completion.chunk",
        "usage": FINAL_USAGE}
STREAM_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8"}


def event_of(result: dict) -> dict:
    assert result["logged"] is True
    return json.loads(result["event"])


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


# ---------------------------------------------------------------- meters: path, speech characters, durations

@pytest.mark.parametrize(("full_path", "path"), [
    (CHAT_PATH, "/chat/completions"),
    ("/openai/deployments/gpt-image-1/images/generations", "/images/generations"),
    ("/openai/deployments/whisper/audio/transcriptions", "/audio/transcriptions"),
    ("/openai/v1/chat/completions", "/chat/completions"),
    ("/openai/responses", "/responses"),
    ("/openai/deployments/gpt-4o", None),
])
def test_the_path_after_the_deployment_is_sent(policy_runner, full_path, path):
    (result,) = policy_runner(scenario(request={"path": full_path}))
    assert event_of(result)["path"] == path


SPEECH_PATH = "/openai/deployments/tts-hd/audio/speech"
AUDIO = {"headers": {"Content-Type": "audio/mpeg"}, "body": "ID3\u0004binary"}


@pytest.mark.parametrize(("text", "characters"), [
    ("Hello, world.", 13),
    ("Grüße 👋", 7),        # the emoji is one character (two UTF-16 units), ü and ß one each
    ("", 0),
])
def test_text_to_speech_sends_the_input_characters_and_is_billed_by_them(policy_runner, text, characters):
    sent = {"model": "tts-hd", "input": text, "voice": "alloy"}
    (result,) = policy_runner(scenario(request={"path": SPEECH_PATH, "body": json.dumps(sent)}, response=AUDIO))
    event = event_of(result)
    assert (event["inputCharacters"], event["usage"], event["path"]) == (characters, None, "/audio/speech")
    record = parse_event(RawEvent(body=result["event"].encode("utf-8")))
    assert record.meters.characters == characters and record.metered is True


@pytest.mark.parametrize("request_change", [
    {"path": SPEECH_PATH, "body": json.dumps({"model": "tts-hd", "input": ["a", "b"]})},   # not a string
    {"path": SPEECH_PATH, "body": json.dumps({"model": "tts-hd"})},
    {"path": SPEECH_PATH, "body": "not json"},
    {"path": CHAT_PATH, "body": json.dumps({"messages": [], "input": "hello"})},          # not a speech call
])
def test_without_a_speech_input_no_characters_are_sent(policy_runner, request_change):
    (result,) = policy_runner(scenario(request=request_change, response=AUDIO))
    assert result["inputCharacters"] == -1 and event_of(result)["inputCharacters"] is None


VERBOSE = {"task": "transcribe", "language": "english", "duration": 42.5, "text": "hello",
           "segments": [{"id": 0, "start": 0.0, "end": 42.5, "text": "hello"}]}


@pytest.mark.parametrize("endpoint", ["transcriptions", "translations"])
def test_a_verbose_json_transcription_without_usage_is_billed_by_its_duration(policy_runner, endpoint):
    (result,) = policy_runner(scenario(request={"path": f"/openai/deployments/whisper/audio/{endpoint}", "body": None},
                                       response={"body": json.dumps(VERBOSE)}))
    event = event_of(result)
    assert event["usage"] == {"type": "duration", "seconds": 42.5}
    assert parse_event(RawEvent(body=result["event"].encode("utf-8"))).meters.audio_seconds == Decimal("42.5")


def test_a_transcriptions_own_usage_wins_over_its_duration(policy_runner):
    usage = {"type": "tokens", "input_tokens": 1200, "output_tokens": 300, "total_tokens": 1500,
             "input_token_details": {"audio_tokens": 1100, "text_tokens": 100}}
    (result,) = policy_runner(scenario(
        request={"path": "/openai/deployments/gpt-4o-transcribe/audio/transcriptions", "body": None},
        response={"body": json.dumps({**VERBOSE, "usage": usage})}))
    assert event_of(result)["usage"] == usage


@pytest.mark.parametrize(("request_path", "body"), [
    (CHAT_PATH, {"duration": 42.5, "choices": []}),                                     # not a transcription
    ("/openai/deployments/whisper/audio/transcriptions", {"text": "hello"}),            # json: no duration
    ("/openai/deployments/whisper/audio/transcriptions", {"text": "hi", "duration": "42.5"}),  # not a number
])
def test_a_duration_is_only_taken_from_a_transcription_that_reports_one(policy_runner, request_path, body):
    (result,) = policy_runner(scenario(request={"path": request_path, "body": None},
                                       response={"body": json.dumps(body)}))
    assert event_of(result)["usage"] is None


def test_a_plain_text_transcription_is_logged_unmetered(policy_runner):
    (result,) = policy_runner(scenario(request={"path": "/openai/deployments/whisper/audio/transcriptions",
                                                "body": None},
                                       response={"headers": {"Content-Type": "text/plain"}, "body": "hello"}))
    assert event_of(result)["usage"] is None
