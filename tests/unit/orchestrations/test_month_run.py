"""month_run (orchestrations/starters.py): the SDK's status of a month's instance, as the portal shows it.
The client is a stand-in answering with the SDK's own DurableOrchestrationStatus, parsed from the JSON the
Durable extension returns (https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-http-api)."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from orchestrations.starters import month_run


class Client:
    def __init__(self, body):
        self.body, self.asked = body, []

    async def get_status(self, instance, show_input=False):
        self.asked.append((instance, show_input))
        return DurableOrchestrationStatus.from_json(self.body)


def run(body):
    client = Client(body)
    return asyncio.run(month_run(client, "2026-10")), client.asked


def test_an_unknown_instance_is_not_started():
    found, asked = run("")   # 404: the SDK parses an empty body into an empty status
    assert found.status == "not started" and asked == [("invoice-2026-10", True)]


def test_a_failed_run_carries_its_reason_and_who_started_it():
    found, _ = run({"name": "monthly_invoicing", "instanceId": "invoice-2026-10", "runtimeStatus": "Failed",
                    "input": {"month": "2026-10", "trigger": "portal", "requested_by": "f@example.com"},
                    "output": "Orchestrator function 'monthly_invoicing' failed: storage is unavailable",
                    "createdTime": "2026-11-01T06:00:00Z", "lastUpdatedTime": "2026-11-01T06:05:09Z"})
    assert (found.status, found.requested_by) == ("Failed", "f@example.com")
    assert found.reason == "Orchestrator function 'monthly_invoicing' failed: storage is unavailable"
    assert found.updated == datetime(2026, 11, 1, 6, 5, 9, tzinfo=UTC)


def test_a_running_run_shows_its_stage_and_a_completed_one_no_reason():
    running, _ = run({"runtimeStatus": "Running", "customStatus": {"stage": "aggregating", "partitions_done": 3},
                      "input": {"month": "2026-10", "trigger": "timer"}, "output": None,
                      "createdTime": "2026-11-01T06:00:00Z", "lastUpdatedTime": "2026-11-01T06:01:00Z"})
    assert (running.status, running.stage, running.requested_by, running.active) == \
        ("Running", "aggregating", "", True)
    done, _ = run({"runtimeStatus": "Completed", "output": {"departments": 2}, "input": None,
                   "createdTime": "2026-11-01T06:00:00Z", "lastUpdatedTime": "2026-11-01T06:09:00Z"})
    assert (done.status, done.reason, done.active) == ("Completed", "", False)
