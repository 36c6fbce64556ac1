"""The stand-in APIM context that runs policies/usage-v2.xml's C# expressions under mono, and the scenarios the
policy tests feed it (a successful chat completion through a department's subscription, by default)."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from glob import glob
from pathlib import Path

POLICIES = Path(__file__).resolve().parents[3] / "policies"
V2 = POLICIES / "usage-v2.xml"
V1 = POLICIES / "usage-v1-seed.xml"
POLICY_FILES = sorted(POLICIES.glob("*.xml"))

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
public class Jwt { public IReadOnlyDictionary<string, string[]> Claims; }
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
                if (s["variables"] != null)
                    foreach (var p in (JObject)s["variables"]) variables[p.Key] = (string)p.Value;
                if (s["jwtClaims"] != null) variables["chargeback-jwt"] = new Jwt { Claims = Multi(s["jwtClaims"]) };
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


def v2_expressions(policy: Path = V2, variables: list[str] = INBOUND_VARIABLES) -> dict[str, str]:
    """The expressions of the v2 policy (or of a variant of it with these inbound ``variables``)."""
    root = ET.parse(policy).getroot()  # noqa: S314 (our own policy files)
    inbound, outbound = root.find("inbound"), root.find("outbound")
    log = outbound.find("choose/when/log-to-eventhub")
    # a variable the harness does not know would be missing from every run: fail here instead
    assert [v.get("name") for v in inbound.iter("set-variable")] == variables
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



def build_runner(work: Path, expressions: dict[str, str] | None = None,
                 main: str = HARNESS_MAIN) -> Callable[..., list[dict]]:
    """Compile a policy's expressions (the v2 policy's by default) with ``main`` into ``work`` and return a
    function that runs scenarios through them."""
    shutil.copy(NEWTONSOFT[0], work / "Newtonsoft.Json.dll")
    chosen = v2_expressions() if expressions is None else expressions
    source = HARNESS_PRELUDE + "".join(as_method(n, e) for n, e in chosen.items()) + main
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
