"""`chargeback ingest` takes Azure Monitor envelopes; `chargeback gateway unmatched` lists lone halves (issue 15)."""
from __future__ import annotations

import json

import pytest

from devhost import local_stack
from devhost.cli import main

LONE = "f0000000-0000-4000-8000-00000000000f"
PAIRED = "f0000000-0000-4000-8000-000000000001"


def gateway(correlation: str) -> dict:
    return {"time": "2026-10-05T08:00:00Z", "category": "GatewayLogs", "correlationId": correlation,
            "properties": {"apimSubscriptionId": "sub-mkt", "responseCode": 200}}


def llm(correlation: str, prompt: int, stream: bool = True) -> dict:
    return {"time": "2026-10-05T08:00:01Z", "category": "GatewayLlmLogs",
            "properties": {"CorrelationId": correlation, "DeploymentName": "gpt-4o", "PromptTokens": prompt,
                           "CompletionTokens": 3, "IsStreamCompletion": stream}}


@pytest.fixture
def cli(app_services, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(local_stack, "_described", "")
    monkeypatch.delenv("CHARGEBACK_PROGRESS", raising=False)
    path = tmp_path / "logs.jsonl"
    path.write_text("\n".join(json.dumps({"records": r}) for r in (
        [gateway(PAIRED), llm(PAIRED, 10)], [llm(LONE, 42)])) + "\n")
    assert main(["ingest", str(path), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["received"], done["stored"], done["gateway_halves"]) == (2, 1, 3)
    return app_services


def test_ingest_of_envelopes_stores_the_completed_call(cli):
    assert cli.usage.count("2026-10") == 1


def test_unmatched_lists_the_lone_half_as_json(cli, capsys):
    capsys.readouterr()
    assert main(["gateway", "unmatched", "2026-10", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["streamed_calls"], doc["lone_llm"], doc["lone_requests"]) == (1, 1, 0)
    assert [(h["correlation_id"], h["kind"], h["prompt_tokens"]) for h in doc["unmatched"]] == [(LONE, "llm", 42)]


def test_unmatched_as_a_table_and_a_month_without_any(cli, capsys):
    capsys.readouterr()
    assert main(["gateway", "unmatched", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert LONE in out and "1 gateway LLM log record(s)" in out and "42" in out
    assert main(["gateway", "unmatched", "2026-11"]) == 0
    assert "no unmatched halves" in capsys.readouterr().out


def test_a_month_out_of_range_is_refused(cli, capsys):
    assert main(["gateway", "unmatched", "1999-12"]) == 2
    assert "month must be YYYY-MM" in capsys.readouterr().err
