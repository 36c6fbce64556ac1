"""Drives one orchestration instance: replay, schedule activities and timers, append their results.

Each episode is what the Durable extension does per work item: OrchestratorStarted, the new
completions, one orchestrator invocation over the whole history, then TaskScheduled/TimerCreated
for the new work and OrchestratorCompleted. The history is saved before the work is dispatched.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import UTC, datetime

from devhost.durable import history as h
from devhost.durable.errors import HostAborted, Superseded
from devhost.durable.registry import ActivityOutcome
from devhost.durable.replay import ACTIVITY, RETRY_TIMER, NonDeterministicReplay, UnsupportedAction, Work, plan_work
from devhost.durable.store import InstanceRecord


class InstanceRunner:
    """The single driver of one execution of an instance; activity results arrive in its inbox."""

    def __init__(self, host, instance_id: str, execution_id: str):
        self.host = host
        self.instance_id = instance_id
        self.execution_id = execution_id
        self._cv = threading.Condition()
        self._inbox: deque = deque()
        self._driving = False
        self._recovered = False
        self._in_flight: set[int] = set()
        self._timers: dict[int, tuple[float, str]] = {}  # event id -> (monotonic due, FireAt)

    def post(self, message: tuple) -> bool:
        """Queue a message; True when a driver is running and will pick it up."""
        with self._cv:
            self._inbox.append(message)
            self._cv.notify_all()
            return self._driving

    def drive(self, deadline: float | None = None) -> None:
        """Run episodes until the instance finishes, has nothing outstanding, or the deadline passes."""
        with self._cv:
            while self._driving:
                self._cv.wait()
            self._driving = True
        try:
            self._loop(deadline)
        finally:
            with self._cv:
                self._driving = False
                self._cv.notify_all()

    def _loop(self, deadline: float | None) -> None:
        record = self._load()
        if record.finished:
            return
        if not record.history:
            started = ("started",)
            record = self._episode(record, [started])
        elif not self._recovered:  # a new host over a stored history: replay to find what is open
            record = self._episode(record, [])
        self._recovered = True
        while not record.finished:
            messages = self._next_messages(deadline)
            if messages is None:
                return
            completions = []
            for message in messages:
                if message[0] in ("crashed", "stop"):
                    if completions:  # what arrived before the crash is kept, as a committed batch
                        self._episode(record, completions)
                    if message[0] == "crashed":
                        raise HostAborted(f"host aborted by {type(message[2]).__name__}: {message[2]}")
                    if self.host.aborted:
                        raise self.host.aborted_error()
                    return
                self._in_flight.discard(message[1])
                completions.append(message)
            completions += self._due_timers()
            if completions:
                record = self._episode(record, completions)

    def _next_messages(self, deadline: float | None) -> list | None:
        with self._cv:
            while not self._inbox:
                if not self._in_flight and not self._timers:
                    return None  # idle: nothing can happen until someone posts
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return None
                waits = [due - now for due, _ in self._timers.values()]
                if deadline is not None:
                    waits.append(deadline - now)
                if waits and min(waits) <= 0:
                    return []
                self._cv.wait(timeout=min(waits) if waits else None)
            messages = list(self._inbox)
            self._inbox.clear()
            return messages

    def _due_timers(self) -> list[tuple]:
        now = time.monotonic()
        due = sorted((fire_at, event_id) for event_id, (at, fire_at) in self._timers.items() if at <= now)
        for _, event_id in due:
            del self._timers[event_id]
        return [("fired", event_id, fire_at) for fire_at, event_id in due]

    def _load(self) -> InstanceRecord:
        record = self.host.store.load(self.instance_id)
        if record is None or record.execution_id != self.execution_id:
            raise Superseded(self.instance_id)
        return record

    def _episode(self, record: InstanceRecord, messages: list[tuple]) -> InstanceRecord:
        wall = datetime.now(UTC)
        # A timer's message arrives at its FireAt, so the episode that applies it is never earlier.
        fired = [h.parse_time(m[2]) for m in messages if m[0] == "fired"]
        now = max([h.logical_now(record.history, wall), *fired])
        trial = record.history + [h.orchestrator_started(now)] + [self._event(record, m, now) for m in messages]
        outcome = self.host.registry.run_orchestrator(
            record.name, h.orchestration_context(record.instance_id, trial, record.input_json))
        state = outcome.state
        before = (len(record.history), record.custom_status_json, record.runtime_status)
        record.custom_status_json = _json_or_none(state.get("customStatus"))
        if outcome.error is not None:
            return self._finish(record, trial, now, "Failed", outcome.error)
        if state.get("isDone"):
            return self._finish(record, trial, now, "Completed", None, state.get("output"))
        try:
            plan = plan_work(_flat_actions(state), trial)
        except (UnsupportedAction, NonDeterministicReplay) as error:
            return self._finish(record, trial, now, "Failed", str(error))
        scheduled = [h.task_scheduled(now, w.event_id, w.name, w.input_json) if w.kind == ACTIVITY
                     else h.timer_created(now, w.event_id, w.fire_at) for w in plan.new]
        if messages or scheduled:
            record.history = trial + scheduled + [h.orchestrator_completed(now)]
        record.runtime_status = "Running"
        if (len(record.history), record.custom_status_json, record.runtime_status) != before:
            record.last_updated_time = wall
            self.host.save(self, record)
        self._dispatch(plan.open, now)
        return record

    def _event(self, record: InstanceRecord, message: tuple, now: datetime) -> dict:
        kind = message[0]
        if kind == "started":
            return h.execution_started(now, record.name, record.instance_id, record.execution_id,
                                       record.input_json)
        if kind == "fired":
            return h.timer_fired(now, message[1], message[2])
        outcome: ActivityOutcome = message[2]
        if outcome.failed:
            return h.task_failed(now, message[1], outcome.reason, outcome.details)
        return h.task_completed(now, message[1], outcome.result_json)

    def _finish(self, record, trial, now, status, error, output=None) -> InstanceRecord:
        if status == "Failed":
            output = f"Orchestrator function '{record.name}' failed: {error}"
        result = json.dumps(output)
        record.history = [*trial, h.execution_completed(now, status, result, output if error else None),
                          h.orchestrator_completed(now)]
        return self._close(record, status, result)

    def _close(self, record: InstanceRecord, status: str, output_json: str) -> InstanceRecord:
        record.runtime_status = status
        record.output_json = output_json
        record.last_updated_time = datetime.now(UTC)
        self._timers.clear()
        self.host.save(self, record)
        return record

    def _dispatch(self, open_work: list[Work], now: datetime) -> None:
        for work in open_work:
            if work.kind == ACTIVITY and work.event_id not in self._in_flight:
                self._in_flight.add(work.event_id)
                self.host.submit_activity(self, work)
            elif work.kind == RETRY_TIMER and work.event_id not in self._timers:
                wait = max(0.0, (h.parse_time(work.fire_at) - now).total_seconds()) * self.host.retry_delay_scale
                self._timers[work.event_id] = (time.monotonic() + wait, work.fire_at)


def _flat_actions(state: dict) -> list[dict]:
    """Schema V2 nests its one flat action list in an outer list."""
    if state.get("schemaVersion", 0) < 1:
        raise UnsupportedAction("the local durable host expects the SDK's replay schema V2 (upperSchemaVersion 1)")
    groups = state.get("actions") or [[]]
    return groups[0]


def _json_or_none(value) -> str | None:
    return None if value is None else json.dumps(value)
