"""Issue 11, the property behind "a bad event never sinks its batch": any event the parser accepts is
stored on Azurite (read back equal), and anything it refuses is set aside; nothing raises."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import chargeback.settings
from chargeback.errors import InvalidEvent
from chargeback.settings import Settings
from chargeback.storage.usage_table import entity_to_record, partition_key
from chargeback.usage.events import RawEvent, parse_event
from chargeback.wiring import Services
from chargeback.workflow.ingesting import ingest_batch

INT64_MAX = 2**63 - 1


@pytest.fixture(scope="module")
def store(azurite):
    """Services on this module's own tables, with the plausibility cap at storage's own limit (Int64)."""
    base = Settings.from_env({"CHARGEBACK_STORAGE": azurite.connection_string,
                              "CHARGEBACK_TABLE_PREFIX": "p" + uuid.uuid4().hex[:10]})
    cap = Settings(**{**base.__dict__, "max_count_per_call": INT64_MAX})
    previous = chargeback.settings.settings()
    _use(cap)
    yield Services(cap)
    _use(previous)


def _use(value: Settings) -> None:
    if hasattr(chargeback.settings, "use_settings"):
        chargeback.settings.use_settings(value)
    else:   # before settings could be replaced: the cap is read from the environment
        pytest.skip("needs chargeback.settings.use_settings")


counts = st.one_of(st.integers(0, 10_000), st.integers(0, INT64_MAX), st.sampled_from([2**31 - 1, 2**31, 2**32]))
texts = st.one_of(st.text(max_size=40), st.text(min_size=200, max_size=400), st.none())
moments = st.one_of(  # mostly inside the invoiceable years, sometimes anywhere .NET or ISO can write
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31, 23, 59, 59)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
statuses = st.one_of(st.integers(0, 999), st.integers(-5, 2**40))


@st.composite
def v2_events(draw) -> dict:
    prompt = draw(counts)
    usage = {"prompt_tokens": prompt, "completion_tokens": draw(counts),
             "prompt_tokens_details": {"cached_tokens": draw(st.integers(0, prompt))}}
    return {"schemaVersion": 2, "requestId": draw(st.from_regex(r"\A[A-Za-z0-9._:@-]{1,200}\Z")),
            "timestamp": draw(moments).isoformat() + "Z", "subscriptionId": draw(st.text(min_size=1, max_size=260)),
            "deploymentId": draw(texts), "model": draw(texts), "region": draw(texts), "productName": draw(texts),
            "statusCode": draw(statuses), "usage": usage}


@st.composite
def v1_events(draw) -> dict:
    return {"timestamp": draw(moments).strftime("%m/%d/%Y %H:%M:%S").lstrip("0"),
            "appSubscriptionKey": draw(st.text(min_size=1, max_size=260)),
            "promptTokens": str(draw(st.integers(0, 10**12 - 1))), "completionTokens": str(draw(counts)),
            "deploymentId": draw(texts)}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(v2_events(), v1_events()), sequence=st.integers(0, INT64_MAX))
def test_any_event_the_parser_accepts_is_stored_and_reads_back_equal(store, doc, sequence):
    raw = RawEvent(json.dumps(doc).encode("utf-8"), "1", sequence, str(sequence), datetime.now(UTC))
    try:
        parsed = parse_event(raw)
    except InvalidEvent:
        parsed = None
    event("accepted" if parsed else "refused")
    result = ingest_batch([raw], store.usage, store.dead_letters)
    if parsed is None:
        assert (result.stored, result.dead_lettered) == (0, 1)
        return
    assert (result.stored, result.dead_lettered) == (1, 0)
    entity = store.usage.table.get_entity(partition_key(parsed, store.usage.shards), parsed.record_id)
    back = entity_to_record(entity)
    assert (back.subscription, back.deployment, back.model, back.region, back.product, back.status_code) == (
        parsed.subscription, parsed.deployment, parsed.model, parsed.region, parsed.product, parsed.status_code)
    assert back.meters == parsed.meters
    assert abs((back.timestamp - parsed.timestamp).total_seconds()) < 0.001
