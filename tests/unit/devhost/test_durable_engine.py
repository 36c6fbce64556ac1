"""The local durable host drives real orchestrators through the SDK's replay engine."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.actions import ActionType
from azure.durable_functions.models.history import HistoryEventType as Ev
from azure.durable_functions.models.utils import http_utils

from devhost.durable import DurableHost, HostAborted, InMemoryInstanceStore, InstanceAlreadyRunning
from devhost.durable import history as h
from devhost.durable.replay import NonDeterministicReplay, plan_work
from devhost.http_host import process_event_loop
from tests.fixtures import durable_sample_app as sample

FAST = {"retry_delay_scale": 0.001}


@pytest.fixture(autouse=True)
def probe():
    sample.PROBE.reset()
    yield sample.PROBE
    sample.PROBE.gate.set()  # never leave an activity parked at the gate


@pytest.fixture
def host():
    with DurableHost(sample.app, InMemoryInstanceStore(), max_workers=4, **FAST) as running:
        yield running


def events(history, kind):
    return [e for e in history if e["EventType"] == kind]


def history_of(host, instance):
    return host.store.load(instance).history


def test_fan_out_completes_with_every_result_and_custom_status(host):
    instance = host.start_new(sample.FAN_OUT, input={"values": [1, 2, 3, 4, 5, 6, 7, 8]})
    assert host.get_status(instance)["runtimeStatus"] == "Pending"

    status = host.run_until_idle(instance)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"squares": [1, 4, 9, 16, 25, 36, 49, 64], "total": 204}
    assert status["customStatus"] == {"stage": "done", "total": 204}
    assert status["input"] == {"values": [1, 2, 3, 4, 5, 6, 7, 8]}
    assert {"name", "instanceId", "createdTime", "lastUpdatedTime"} <= status.keys()


def test_fan_out_runs_activities_in_parallel_up_to_the_pool_size(probe):
    probe.reset(concurrency_target=3)  # each square waits until 3 run at once
    with DurableHost(sample.app, InMemoryInstanceStore(), max_workers=3) as host:
        instance = host.start_new(sample.FAN_OUT, input={"values": list(range(1, 10))})
        assert host.run_until_idle(instance)["runtimeStatus"] == "Completed"
    assert probe.max_running == 3
    assert sorted(value for _, value in probe.calls) == list(range(1, 10))


def test_history_uses_the_extension_event_shapes(host):
    instance = host.start_new(sample.FAN_OUT, input={"values": [2, 3]})
    host.run_until_idle(instance)
    history = history_of(host, instance)

    assert [e["EventType"] for e in history[:2]] == [Ev.ORCHESTRATOR_STARTED, Ev.EXECUTION_STARTED]
    scheduled = events(history, Ev.TASK_SCHEDULED)
    assert [(e["EventId"], e["Name"], e["Input"]) for e in scheduled] == [(0, "square", "2"), (1, "square", "3")]
    completed = {e["TaskScheduledId"]: e["Result"] for e in events(history, Ev.TASK_COMPLETED)}
    assert completed == {0: "4", 1: "9"}
    final = events(history, Ev.EXECUTION_COMPLETED)
    assert len(final) == 1 and final[0]["OrchestrationStatus"] == 1  # DurableTask's Completed
    assert history[-1]["EventType"] == Ev.ORCHESTRATOR_COMPLETED


def test_replaying_a_recorded_history_yields_the_same_actions(host):
    recorded = []
    real_run = host.registry.run_orchestrator

    def recording(name, context_json):
        outcome = real_run(name, context_json)
        recorded.append((name, context_json, outcome))
        return outcome

    host.registry.run_orchestrator = recording
    instance = host.start_new(sample.RETRYING_FAN_OUT, input=[{"key": "a", "failures": 1},
                                                               {"key": "b", "failures": 0}])
    assert host.run_until_idle(instance)["runtimeStatus"] == "Completed"
    host.registry.run_orchestrator = real_run

    assert len(recorded) >= 3
    for name, context_json, outcome in recorded:
        assert real_run(name, context_json) == outcome

    # The finished history replays to the same output, and every activity action was scheduled.
    history = history_of(host, instance)
    replayed = real_run(sample.RETRYING_FAN_OUT, h.orchestration_context(instance, history[:-2], history[1]["Input"]))
    assert replayed.state["isDone"] is True
    assert replayed.state["output"] == ["a succeeded on attempt 2", "b succeeded on attempt 1"]
    [when_all] = replayed.state["actions"][0]
    asked = [(a["functionName"], json.loads(a["input"])["key"])
             for wrapper in when_all["compoundActions"] for a in wrapper["compoundActions"]]
    assert asked == [("flaky", "a"), ("flaky", "b")]
    scheduled_keys = [json.loads(e["Input"])["key"] for e in events(history, Ev.TASK_SCHEDULED)]
    assert sorted(scheduled_keys) == ["a", "a", "b"]  # one retry of a


def test_an_activity_failing_twice_is_retried_and_the_orchestration_completes(host, probe):
    instance = host.start_new(sample.RETRYING, input={"key": "k", "failures": 2, "max_attempts": 3,
                                                      "first_retry_ms": 2000})
    status = host.run_until_idle(instance)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == "k succeeded on attempt 3"
    assert probe.attempts["k"] == 3
    history = history_of(host, instance)
    failures = events(history, Ev.TASK_FAILED)
    assert [f["Reason"] for f in failures] == [
        "Activity function 'flaky' failed: RuntimeError: flaky failed on attempt 1",
        "Activity function 'flaky' failed: RuntimeError: flaky failed on attempt 2"]
    # TaskFailed, then a retry timer firing first_retry_interval later, then the next TaskScheduled.
    kinds = [e["EventType"] for e in history if e["EventType"] in (Ev.TASK_SCHEDULED, Ev.TASK_FAILED,
                                                                   Ev.TIMER_CREATED, Ev.TIMER_FIRED)]
    assert kinds == [Ev.TASK_SCHEDULED, Ev.TASK_FAILED, Ev.TIMER_CREATED, Ev.TIMER_FIRED,
                     Ev.TASK_SCHEDULED, Ev.TASK_FAILED, Ev.TIMER_CREATED, Ev.TIMER_FIRED, Ev.TASK_SCHEDULED]
    for timer in events(history, Ev.TIMER_CREATED):
        delay = h.parse_time(timer["FireAt"]) - h.parse_time(timer["Timestamp"])
        assert delay == timedelta(seconds=2)


def test_an_activity_that_always_fails_fails_the_instance_with_its_message(host, probe):
    instance = host.start_new(sample.RETRYING, input={"key": "bad", "failures": 99, "max_attempts": 3})
    status = host.run_until_idle(instance)

    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Orchestrator function 'retrying_orchestrator' failed: "
                                       "Activity function 'flaky' failed: RuntimeError: flaky failed on attempt 3")
    assert probe.attempts["bad"] == 3
    # DurableTask waits one more retry timer after the last attempt before giving up.
    assert len(events(history_of(host, instance), Ev.TIMER_FIRED)) == 3


def test_retries_inside_a_fan_out_keep_event_ids_in_step_with_the_sdk(host):
    requests = [{"key": k, "failures": f} for k, f in zip("abcdef", [0, 1, 2, 1, 0, 2], strict=True)]
    instance = host.start_new(sample.RETRYING_FAN_OUT, input=requests)
    status = host.run_until_idle(instance, timeout=20)
    assert status["output"] == ["a succeeded on attempt 1", "b succeeded on attempt 2", "c succeeded on attempt 3",
                                "d succeeded on attempt 2", "e succeeded on attempt 1", "f succeeded on attempt 3"]
    ids = [e["EventId"] for e in history_of(host, instance) if e["EventType"] in (Ev.TASK_SCHEDULED, Ev.TIMER_CREATED)]
    assert sorted(ids) == list(range(len(ids)))


def test_custom_status_is_visible_while_running_and_after(probe):
    with DurableHost(sample.app, InMemoryInstanceStore(), background=True) as host:
        instance = host.start_new(sample.GATED)
        assert probe.at_gate.wait(5)
        running = host.get_status(instance)
        assert running["runtimeStatus"] == "Running"
        assert running["customStatus"] == {"stage": "waiting at gate"}
        probe.gate.set()
        done = host.wait_for_completion(instance, timeout=10)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == "opened"
    assert done["customStatus"] == {"stage": "through the gate"}


def test_a_running_instance_id_is_refused_and_a_finished_one_restarts(probe):
    with DurableHost(sample.app, InMemoryInstanceStore(), background=True) as host:
        host.start_new(sample.GATED, "monthly-run")
        assert probe.at_gate.wait(5)
        with pytest.raises(InstanceAlreadyRunning):
            host.start_new(sample.FAN_OUT, "monthly-run", {"values": [1]})
        probe.gate.set()
        assert host.wait_for_completion("monthly-run", 10)["runtimeStatus"] == "Completed"

        host.start_new(sample.FAN_OUT, "monthly-run", {"values": [5]})
        status = host.wait_for_completion("monthly-run", 10)
    assert (status["name"], status["output"]) == (sample.FAN_OUT, {"squares": [25], "total": 25})


@pytest.mark.parametrize(("orchestrator", "refused"), [
    (sample.AWAITING_APPROVAL, "WAIT_FOR_EXTERNAL_EVENT actions"), (sample.TIMED, "CREATE_TIMER actions"),
    (sample.PLAIN_CALL, "CALL_ACTIVITY actions"), (sample.FIRST_OF, "WHEN_ANY actions")])
def test_what_the_product_does_not_use_fails_the_instance_clearly(host, probe, orchestrator, refused):
    instance = host.start_new(orchestrator, input={"wait_seconds": 1, "name": "Ann"})
    status = host.run_until_idle(instance)
    assert status["runtimeStatus"] == "Failed"
    assert f"the local durable host does not support {refused}" in status["output"]
    assert probe.calls == [] and events(history_of(host, instance), Ev.TASK_SCHEDULED) == []


def test_a_host_killed_mid_fan_out_is_finished_by_a_new_host(probe):
    store = InMemoryInstanceStore()
    probe.reset(crash_after=3)
    first = DurableHost(sample.app, store, max_workers=1)
    instance = first.start_new(sample.FAN_OUT, input={"values": [1, 2, 3, 4, 5, 6]})
    with pytest.raises(HostAborted):
        first.run_until_idle(instance)
    assert len(events(store.load(instance).history, Ev.TASK_COMPLETED)) == 3

    with DurableHost(sample.app, store, max_workers=4) as second:
        status = second.run_until_idle(instance)
    assert status["output"] == {"squares": [1, 4, 9, 16, 25, 36], "total": 91}
    assert [value for _, value in probe.calls[:3]] == [1, 2, 3]
    assert sorted(value for _, value in probe.calls[3:]) == [4, 5, 6]  # only the unfinished ones re-run


def test_replay_refuses_a_history_that_no_longer_matches_the_actions():
    at = h.parse_time("2026-02-01T00:00:00.000000Z")
    history = [h.orchestrator_started(at), h.execution_started(at, "x", "i", "e", None),
               h.task_scheduled(at, 0, "price_month", '"2026-01"'), h.orchestrator_completed(at)]
    retry = {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 1}
    with pytest.raises(NonDeterministicReplay):
        plan_work([{"actionType": ActionType.CALL_ACTIVITY_WITH_RETRY, "functionName": "render_invoices",
                    "input": '"2026-01"', "retryOptions": retry}], history)
    plan = plan_work([{"actionType": ActionType.CALL_ACTIVITY_WITH_RETRY, "functionName": "price_month",
                       "input": '"2026-01"', "retryOptions": retry}], history)
    assert [(w.event_id, w.recorded) for w in plan.open] == [(0, True)]


def test_the_real_durable_client_starts_and_queries_over_http(probe):
    with DurableHost(sample.app, InMemoryInstanceStore(), background=True, **FAST) as host:
        binding = host.client_binding()
        process_event_loop().run(_drive_real_client(host, binding, probe))  # the SDK keeps one session per process


def test_a_plain_json_post_starts_an_instance_under_the_given_id():
    with DurableHost(sample.app, InMemoryInstanceStore(), background=True) as host:
        binding = json.loads(host.client_binding())
        url = binding["rpcBaseUrl"] + f"orchestrators/{sample.FAN_OUT}/invoices-2026-04"
        request = urllib.request.Request(url, data=b'{"values": [7]}', method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 202
            assert json.loads(response.read())["id"] == "invoices-2026-04"
        status = host.wait_for_completion("invoices-2026-04", 10)
    assert status["input"] == {"values": [7]}
    assert status["output"] == {"squares": [49], "total": 49}


async def _drive_real_client(host, binding, probe):
    client = df.DurableOrchestrationClient(binding)
    try:
        instance = await client.start_new(sample.FAN_OUT, None, {"values": [3, 4]})
        host.wait_for_completion(instance, 10)
        status = await client.get_status(instance)
        assert status.runtime_status == df.OrchestrationRuntimeStatus.Completed
        assert status.output == {"squares": [9, 16], "total": 25}
        assert status.input_ == {"values": [3, 4]}

        response = client.create_check_status_response(
            func.HttpRequest("POST", "http://localhost:7071/api/start", body=b""), instance)
        assert response.status_code == 202
        links = json.loads(response.get_body())
        assert links["id"] == instance and instance in response.headers["Location"]
        with urllib.request.urlopen(client.create_http_management_payload(instance)["statusQueryGetUri"]) as page:
            assert json.loads(page.read())["runtimeStatus"] == "Completed"

        assert not await client.get_status("no-such-instance")
        with pytest.raises(Exception, match="doesn't exist"):
            await client.start_new("no_such_orchestrator")

        urls = client.create_http_management_payload(instance)
        terminate = urllib.request.Request(urls["terminatePostUri"].replace("{text}", "x"), method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:   # listed by the SDK, not served here
            urllib.request.urlopen(terminate)
        assert refused.value.code == 501
    finally:
        await http_utils._close_session()  # the SDK's shared aiohttp session belongs to this event loop
