"""What ingest emits to App Insights, captured with OpenTelemetry's in-memory exporters."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from chargeback import telemetry
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.usage.record import UsageRecord


@pytest.fixture
def captured():
    exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("test.chargeback.usage.events")
    handler = LoggingHandler(logger_provider=logger_provider)
    logger.addHandler(handler)
    reader = InMemoryMetricReader()
    emitter = telemetry.UsageTelemetry(meter_provider=MeterProvider(metric_readers=[reader]), logger=logger)
    yield emitter, exporter, reader
    logger.removeHandler(handler)


def record(**overrides) -> UsageRecord:
    base = {"record_id": "r1", "timestamp": datetime(2026, 10, 3, 14, 5, tzinfo=UTC), "subscription": "sub-a",
            "deployment": "gpt-4o", "model": "gpt-4o-2024-08-06", "prompt_tokens": 1566, "cached_tokens": 1408,
            "completion_tokens": 300, "reasoning_tokens": 0}
    return UsageRecord(**{**base, **overrides})


def metric_points(reader, name):
    points = []
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    points.extend(metric.data.data_points)
    return points


def test_each_record_is_a_chargeback_usage_custom_event(captured):
    emitter, exporter, _ = captured
    emitter.record_batch([record(), record(record_id="r2", subscription="sub-b", stream=True, metered=False,
                                          prompt_tokens=0, cached_tokens=0, completion_tokens=0)], [])
    events = [log.log_record for log in exporter.get_finished_logs()]
    assert [e.attributes["microsoft.custom_event.name"] for e in events] == ["ChargebackUsage"] * 2
    first = events[0].attributes
    assert (first["subscription"], first["deployment"], first["model"]) == ("sub-a", "gpt-4o", "gpt-4o-2024-08-06")
    assert (first["promptTokens"], first["cachedTokens"], first["completionTokens"], first["totalTokens"]) == \
        (1566, 1408, 300, 1866)
    assert events[1].attributes["metered"] is False


def test_token_counters_split_by_type_with_dimensions(captured):
    emitter, _, reader = captured
    emitter.record_batch([record(), record(record_id="r2", prompt_tokens=100, cached_tokens=0,
                                           completion_tokens=50, reasoning_tokens=20)], [])
    by_type = {p.attributes["token_type"]: p.value for p in metric_points(reader, "chargeback.tokens")
               if p.attributes["subscription"] == "sub-a" and p.attributes["deployment"] == "gpt-4o"}
    # input = prompt - cached: (1566 - 1408) + 100; output = completion: 300 + 50; reasoning inside output
    assert by_type == {"input": 258, "cached_input": 1408, "output": 350, "reasoning": 20}


def test_dead_letters_are_counted_and_evented_without_the_body(captured):
    emitter, exporter, reader = captured
    secret = "0123456789abcdef0123456789abcdef"
    _, dead = parse_batch([RawEvent(f'{{"appSubscriptionKey": "{secret}"}}'.encode(), "2", 5)])
    emitter.record_batch([], dead)
    (event,) = [log.log_record for log in exporter.get_finished_logs()]
    assert event.attributes["microsoft.custom_event.name"] == "ChargebackDeadLetter"
    assert secret not in str(event.attributes) and secret not in str(event.body)
    assert sum(p.value for p in metric_points(reader, "chargeback.dead_letters")) == 1


def test_azure_monitor_is_configured_once_and_only_with_a_connection_string(monkeypatch):
    import azure.monitor.opentelemetry as distro
    calls = []
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kw: calls.append(kw))
    monkeypatch.setattr(telemetry._exporter, "done", False)
    assert telemetry.configure_telemetry("") is False and calls == []
    fake = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
    assert telemetry.configure_telemetry(fake) and telemetry.configure_telemetry(fake)
    assert len(calls) == 1 and calls[0]["connection_string"] == fake


def test_requests_are_counted_per_subscription_and_metered_across_batches(captured):
    emitter, _, reader = captured
    emitter.record_batch([record(), record(record_id="r2"), record(record_id="r3", subscription="sub-b"),
                          record(record_id="r4", metered=False, prompt_tokens=0, cached_tokens=0,
                                 completion_tokens=0)], [])
    emitter.record_batch([record(record_id="r5", subscription="sub-b")], [])
    counts = {(p.attributes["subscription"], p.attributes["metered"]): p.value
              for p in metric_points(reader, "chargeback.requests")}
    assert counts == {("sub-a", True): 2, ("sub-a", False): 1, ("sub-b", True): 2}
    inputs = {p.attributes["subscription"]: p.value for p in metric_points(reader, "chargeback.tokens")
              if p.attributes["token_type"] == "input"}
    assert inputs == {"sub-a": 2 * (1566 - 1408), "sub-b": 2 * (1566 - 1408)}
