"""Issue 15: a month metered both ways. Non-streamed calls come as v2 events (policies/usage-v2-stream.xml),
streamed calls from API Management's resource logs (GatewayLogs + GatewayLlmLogs as Azure Monitor records);
no call is counted twice, a lone half is a warning, not a charge. Totals worked out by hand below."""
from __future__ import annotations

import json
from decimal import Decimal
from io import BytesIO

import openpyxl

from chargeback.config.loading import parse_config
from chargeback.storage.documents import INVOICES
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

from .conftest import CONFIG

# gpt-4o at 2.50 input, 1.25 cached input, 10.00 output per 1M tokens (tests/e2e/conftest.py).
A = "a0000000-0000-4000-8000-00000000000a"   # marketing, not streamed: its v2 event bills it
B = "b0000000-0000-4000-8000-00000000000b"   # marketing, streamed: gateway logs bill it
C = "c0000000-0000-4000-8000-00000000000c"   # sales, streamed, halves reversed and split, redelivered
D = "d0000000-0000-4000-8000-00000000000d"   # sales, streamed, metered both ways (a misconfigured API)
E = "e0000000-0000-4000-8000-00000000000e"   # an LLM record whose request record never came


def v2(request_id: str, subscription: str, prompt: int, completion: int, cached: int = 0,
       stream: bool = False) -> str:
    return json.dumps({"schemaVersion": 2, "requestId": request_id, "timestamp": "2026-10-12T09:30:00.250Z",
                       "subscriptionId": subscription, "deploymentId": "gpt-4o", "model": "gpt-4o",
                       "stream": stream, "statusCode": 200, "path": "/chat/completions",
                       "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "prompt_tokens_details": {"cached_tokens": cached}}})


def request_record(correlation: str, subscription: str) -> dict:
    return {"time": "2026-10-12T09:30:00.2500000Z", "category": "GatewayLogs", "correlationId": correlation,
            "resourceId": "/SUBSCRIPTIONS/0/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/APIM",
            "properties": {"responseCode": 200, "apimSubscriptionId": subscription, "apiId": "azure-openai"}}


def llm_record(correlation: str, prompt: int, completion: int, stream: bool = True) -> dict:
    return {"time": "2026-10-12T09:30:01.0000000Z", "category": "GatewayLlmLogs",
            "properties": {"CorrelationId": correlation, "DeploymentName": "gpt-4o", "ModelName": "gpt-4o",
                           "PromptTokens": prompt, "CompletionTokens": completion,
                           "TotalTokens": prompt + completion, "IsStreamCompletion": stream,
                           "SequenceNumber": 0}}


def envelope(*records: dict) -> str:
    return json.dumps({"records": list(records)})


def test_a_month_mixing_both_modes_counts_each_call_once(app_services):
    app_services.config.save(parse_config(CONFIG))
    first = [
        v2(A, "sub-mkt", 1_000_000, 100_000, cached=200_000),       # 800k x 2.50 + 200k x 1.25 + 100k x 10
        envelope(request_record(A, "sub-mkt"), llm_record(A, 1_000_000, 100_000, stream=False)),  # not billed
        envelope(request_record(B, "sub-mkt"), llm_record(B, 400_000, 50_000)),   # 400k x 2.50 + 50k x 10
        envelope(llm_record(C, 200_000, 100_000)),                  # C's LLM half first ...
        v2(D, "sub-sales", 100_000, 0, stream=True),                # 100k x 2.50, by the buffering policy ...
        envelope(llm_record(E, 1_000_000, 0)),                      # alone all month
    ]
    later = [
        envelope(request_record(C, "sub-sales")),                   # ... its request half in a later batch
        envelope(llm_record(C, 200_000, 100_000)),                  # ... and redelivered
        envelope(request_record(D, "sub-sales"), llm_record(D, 100_000, 0)),   # ... and by the logs: one row
    ]
    assert ingest_lines(first, batch_size=2).stored == 3            # A, B and D's v2 event
    # rows written: C, C again (its redelivered half completes it again: the same row), D (the row of its v2 event).
    # One delivery after the other: batches in one delivery go to Event Hub partitions at once, and C's redelivered
    # half, taken before its request half is stored, completes nothing (still one row for C, just one write fewer).
    assert [ingest_lines([line], batch_size=1).stored for line in later] == [1, 1, 1]
    assert app_services.usage.count("2026-10") == 4                 # A, B, C, D: one row per call
    with LocalHost(retry_delay_scale=0.001) as host:
        status = host.run_month("2026-10", timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    output = status["output"]
    # marketing: input (800k + 400k) x 2.50 = 3.00, cached 200k x 1.25 = 0.25, output 150k x 10 = 1.50 -> 4.75
    # sales: input (200k + 100k) x 2.50 = 0.75, output 100k x 10 = 1.00 -> 1.75 (D once, E not at all)
    # the config's PTU pool (300.00 a month) served no call this month: all of it is unallocated
    assert {i["department"]: i["total"] for i in output["invoices"]} == {"marketing": "4.75", "sales": "1.75",
                                                                         "unallocated": "300.00"}
    assert Decimal(output["grand_total"]) == Decimal("306.50")
    assert output["records"] == 4                                   # A, B, C, D
    lone = [w for w in output["warnings"] if "gateway LLM log" in w]
    assert len(lone) == 1 and lone[0].startswith("1 gateway LLM log record(s)") and "1000000 tokens" in lone[0]
    said = [w for w in output["warnings"] if "metered from API Management gateway logs" in w]
    assert len(said) == 1 and said[0].startswith("3 streamed call(s)") and "no cached tokens" in said[0]
    summary = openpyxl.load_workbook(BytesIO(app_services.documents.get(INVOICES, "2026-10/finance-summary.xlsx")))
    cells = [str(c.value) for sheet in summary.worksheets for row in sheet.iter_rows() for c in row if c.value]
    assert said[0] in cells                                         # the finance summary says it too
    halves = app_services.gateway_halves.month("2026-10")
    assert (halves.streamed_calls, halves.non_streamed_llm_calls) == (3, 1)   # B, C, D; A for the cross-check
    assert [h.correlation_id for h in halves.lone] == [E]
