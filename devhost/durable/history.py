"""Orchestration history events, shaped as the Durable extension sends them to an out-of-proc SDK.

Field names follow DurableTask.Core's JSON (PascalCase); numbering is the SDK's ``HistoryEventType``.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from azure.durable_functions.constants import DATETIME_STRING_FORMAT
from azure.durable_functions.models.history import HistoryEventType as Ev

# DurableTask.Core's OrchestrationStatus, carried by ExecutionCompleted.OrchestrationStatus.
STATUS_CODES = {"Running": 0, "Completed": 1, "ContinuedAsNew": 2, "Failed": 3, "Canceled": 4,
                "Terminated": 5, "Pending": 6}
# upperSchemaVersion 1 is the SDK's ReplaySchema.V2: one flat action list with WhenAll/WhenAny
# compound actions, replayed by the extension one awaited action at a time.
UPPER_SCHEMA_VERSION = 1


def format_time(moment: datetime) -> str:
    """A UTC timestamp in the SDK's wire format."""
    return moment.astimezone(UTC).strftime(DATETIME_STRING_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, DATETIME_STRING_FORMAT).replace(tzinfo=UTC)


def _event(kind: Ev, at: datetime, event_id: int = -1, **fields: Any) -> dict:
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False,
            "Timestamp": format_time(at), **fields}


def orchestrator_started(at: datetime) -> dict:
    return _event(Ev.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> dict:
    return _event(Ev.ORCHESTRATOR_COMPLETED, at)


def execution_started(at: datetime, name: str, instance_id: str, execution_id: str,
                      input_json: str | None) -> dict:
    return _event(Ev.EXECUTION_STARTED, at, Name=name, Version="", Input=input_json,
                  OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
                  ParentInstance=None)


def task_scheduled(at: datetime, event_id: int, name: str, input_json: str | None) -> dict:
    return _event(Ev.TASK_SCHEDULED, at, event_id, Name=name, Version="", Input=input_json)


def task_completed(at: datetime, scheduled_id: int, result_json: str | None) -> dict:
    return _event(Ev.TASK_COMPLETED, at, TaskScheduledId=scheduled_id, Result=result_json)


def task_failed(at: datetime, scheduled_id: int, reason: str, details: str) -> dict:
    return _event(Ev.TASK_FAILED, at, TaskScheduledId=scheduled_id, Reason=reason, Details=details)


def timer_created(at: datetime, event_id: int, fire_at: str) -> dict:
    return _event(Ev.TIMER_CREATED, at, event_id, FireAt=fire_at)


def timer_fired(at: datetime, timer_id: int, fire_at: str) -> dict:
    return _event(Ev.TIMER_FIRED, at, TimerId=timer_id, FireAt=fire_at)


def execution_completed(at: datetime, status: str, result_json: str | None,
                        failure: str | None = None) -> dict:
    details = {"ErrorMessage": failure} if failure is not None else None
    return _event(Ev.EXECUTION_COMPLETED, at, OrchestrationStatus=STATUS_CODES[status],
                  Result=result_json, FailureDetails=details)


def orchestration_context(instance_id: str, history: list[dict], input_json: str | None) -> str:
    """The orchestrationTrigger payload: events before the last OrchestratorStarted are played."""
    starts = [i for i, e in enumerate(history) if e["EventType"] == Ev.ORCHESTRATOR_STARTED]
    boundary = starts[-1] if starts else 0
    played = [dict(e, IsPlayed=i < boundary) for i, e in enumerate(history)]
    return json.dumps({"history": played, "instanceId": instance_id, "isReplaying": boundary > 0,
                       "parentInstanceId": None, "input": input_json,
                       "upperSchemaVersion": UPPER_SCHEMA_VERSION})


def logical_now(history: list[dict], wall: datetime) -> datetime:
    """The orchestration clock: wall time, but never behind a timer that already fired (timers may be scaled)."""
    moments = [wall] + [parse_time(e["FireAt"]) for e in history if e["EventType"] == Ev.TIMER_FIRED]
    moments += [parse_time(e["Timestamp"]) for e in history if e["EventType"] == Ev.ORCHESTRATOR_STARTED]
    return max(moments)
