"""The Function App as the Functions host would index it, and its host.json."""
from __future__ import annotations

import json
from pathlib import Path

from devhost.functions import function_index

ROOT = Path(__file__).resolve().parents[3]


def test_every_function_is_registered_with_its_trigger():
    triggers = {name: f.get_trigger().type for name, f in function_index().items()}
    assert triggers["ingest_usage"] == "eventHubTrigger"
    assert triggers["monthly_invoicing"] == "orchestrationTrigger"
    assert triggers["invoice_timer"] == "timerTrigger"
    assert {triggers[n] for n in ("invoice_rerun", "invoice_list", "invoice_download", "owner_portal")} == \
        {"httpTrigger"}
    activities = {n for n, t in triggers.items() if t == "activityTrigger"}
    assert {"list_usage_partitions", "aggregate_usage_partition", "price_month", "render_department_invoice",
            "render_month_documents", "record_invoicing_run", "notify_department"} <= activities


def test_ingest_trigger_reads_batches_from_settings_named_hub():
    binding = json.loads(function_index()["ingest_usage"].get_function_json())["bindings"][0]
    assert binding["cardinality"].lower() == "many"
    assert binding["eventHubName"] == "%CHARGEBACK_EVENTHUB_NAME%"
    assert binding["consumerGroup"] == "%CHARGEBACK_EVENTHUB_CONSUMER_GROUP%"
    assert binding["connection"] == "EventHubConnection"


def test_rerun_needs_a_function_key_and_timer_schedule_is_a_setting():
    rerun = json.loads(function_index()["invoice_rerun"].get_function_json())["bindings"]
    http = next(b for b in rerun if b["type"] == "httpTrigger")
    assert http["authLevel"].lower() == "function" and http["route"] == "invoices/{month}/run"
    bindings = json.loads(function_index()["invoice_timer"].get_function_json())["bindings"]
    timer = next(b for b in bindings if b["type"] == "timerTrigger")
    assert timer["schedule"] == "%CHARGEBACK_INVOICE_SCHEDULE%"


def test_host_json_bundle_batching_and_no_app_wide_retry():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensionBundle"]["version"].startswith("[4.")
    hubs = host["extensions"]["eventHubs"]
    assert hubs["maxEventBatchSize"] >= 100 and hubs["batchCheckpointFrequency"] == 1
    assert "retry" not in host   # an app-level retry would also rerun the timer and the HTTP functions
    excluded = host["logging"]["applicationInsights"]["samplingSettings"]["excludedTypes"].split(";")
    # the telemetry types the host's sampling knows (Dependency, Event, Exception, PageView, Request, Trace)
    assert set(excluded) <= {"Dependency", "Event", "Exception", "PageView", "Request", "Trace"}
    assert "Event" in excluded   # ChargebackUsage custom events are never sampled away


def _retry(function_name: str):
    """The retry the Python worker reports to the host for a function (its 'retry_policy' setting)."""
    return function_index()[function_name].get_settings_dict("retry_policy")


def test_only_the_event_hub_trigger_retries_and_without_a_bound():
    retry = _retry("ingest_usage")
    assert retry["strategy"] == "exponential_backoff" and retry["max_retry_count"] == "-1"
    assert retry["minimum_interval"] == "00:00:05" and retry["maximum_interval"] == "00:15:00"
    others = [n for n in function_index() if n != "ingest_usage" and _retry(n)]
    assert others == []


def test_requirements_hold_runtime_packages_only():
    lines = (ROOT / "requirements.txt").read_text().lower().splitlines()
    runtime = "\n".join(line for line in lines if not line.startswith("#"))
    for package in ("azure-functions", "azure-functions-durable", "azure-data-tables", "azure-storage-blob",
                    "azure-monitor-opentelemetry", "openpyxl"):
        assert package + "==" in runtime
    for dev_only in ("pytest", "hypothesis", "aiosmtpd", "azure-functions-worker"):
        assert dev_only not in runtime

