"""What the Durable extension does with the SDK's actions: replay them against the history.

Mirrors the extension's OutOfProcOrchestrationShim (schema V2) for the two actions the product's
orchestrators use: each top-level action is awaited in turn (a failure is swallowed, the SDK
handles it), WhenAll waits for every child, and CallActivityWithRetry follows DurableTask's
RetryInterceptor (a timer after every failed attempt, the attempt count checked once that timer
fires). Every other action (a plain activity call, timers, WhenAny, external events,
sub-orchestrations, entities, continue-as-new) fails the instance with UnsupportedAction.
Event ids come from one sequence counter in the order the work is created while the history's
completions are applied, which is also how the SDK numbers its tasks, so TaskScheduled/TimerCreated
ids line up with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from azure.durable_functions.models.actions import ActionType
from azure.durable_functions.models.history import HistoryEventType as Ev

from devhost.durable.history import format_time, parse_time

ACTIVITY, RETRY_TIMER = "activity", "retry-timer"


class UnsupportedAction(Exception):
    """The orchestrator asked for something the local host does not implement."""


class NonDeterministicReplay(Exception):
    """The actions no longer match what the history recorded under the same event id."""


@dataclass
class Work:
    """One unit of work the orchestrator is waiting for: an activity attempt or the retry timer after one."""
    event_id: int
    kind: str
    name: str | None = None
    input_json: str | None = None
    fire_at: str | None = None
    recorded: bool = False
    parent: object = field(default=None, repr=False)

    def finish(self, ok: bool) -> None:
        self.parent.child_done(self, ok)


@dataclass
class WorkPlan:
    """The outcome of replaying the actions: every unit created, and those still open."""
    created: list[Work]
    open: list[Work]

    @property
    def new(self) -> list[Work]:
        """Work the history has not recorded yet (needs TaskScheduled / TimerCreated)."""
        return [w for w in self.created if not w.recorded]


def plan_work(actions: list[dict], history: list[dict]) -> WorkPlan:
    """Replay the SDK's (schema V2, flat) actions against the history."""
    return _Replay(actions, history).run()


class _Replay:
    def __init__(self, actions: list[dict], history: list[dict]):
        self.actions = actions
        self.history = history
        self.recorded = {e["EventId"]: e for e in history
                         if e["EventType"] in (Ev.TASK_SCHEDULED, Ev.TIMER_CREATED)}
        self.next_id = 0
        self.now = None
        self.cursor = 0
        self.created: list[Work] = []
        self.pending: dict[int, Work] = {}

    def run(self) -> WorkPlan:
        for event in self.history:
            kind = event["EventType"]
            if kind == Ev.ORCHESTRATOR_STARTED:
                self.now = parse_time(event["Timestamp"])
            elif kind == Ev.EXECUTION_STARTED:
                self._start_next()
            elif kind in (Ev.TASK_COMPLETED, Ev.TASK_FAILED):
                self._complete(event["TaskScheduledId"], kind == Ev.TASK_COMPLETED)
            elif kind == Ev.TIMER_FIRED:
                self._complete(event["TimerId"], True)
        return WorkPlan(self.created, list(self.pending.values()))

    def _complete(self, event_id: int, ok: bool) -> None:
        work = self.pending.pop(event_id, None)
        if work is not None:  # a completion nobody awaits any more is ignored, as DTFx does
            work.finish(ok)

    # The top level: one action awaited at a time.
    def _start_next(self) -> None:
        while self.cursor < len(self.actions):
            node = self.build(self.actions[self.cursor], self)
            if not node.finished:
                return
            self.cursor += 1

    def child_done(self, child, ok: bool) -> None:
        self.cursor += 1
        self._start_next()

    def build(self, action: dict, parent):
        kind = action["actionType"]
        if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
            return _Retry(self, parent, action)
        if kind == ActionType.WHEN_ALL:
            return _WhenAll(self, parent, action["compoundActions"])
        raise UnsupportedAction(f"the local durable host does not support {_action_name(kind)} actions")

    def work(self, kind: str, parent, **fields) -> Work:
        work = Work(self.next_id, kind, parent=parent, **fields)
        self.next_id += 1
        self._match_history(work)
        self.created.append(work)
        self.pending[work.event_id] = work
        return work

    def _match_history(self, work: Work) -> None:
        event = self.recorded.get(work.event_id)
        if event is None:
            return
        expected = Ev.TASK_SCHEDULED if work.kind == ACTIVITY else Ev.TIMER_CREATED
        if event["EventType"] != expected or (work.kind == ACTIVITY and event["Name"] != work.name):
            raise NonDeterministicReplay(
                f"event {work.event_id}: history has {Ev(event['EventType']).name} "
                f"{event.get('Name') or ''}, the orchestrator now asks for {work.kind} {work.name or ''}")
        work.recorded = True
        if work.kind != ACTIVITY:
            work.fire_at = event["FireAt"]


class _WhenAll:
    """Every child, even after a failure (like Task.WhenAll); failed if any child failed."""

    def __init__(self, replay: _Replay, parent, actions: list[dict]):
        self.parent = parent
        self.ok = True
        self.remaining = 0
        self._building = True
        for action in actions:
            if not replay.build(action, self).finished:
                self.remaining += 1
        self._building = False
        self.finished = self.remaining == 0

    def child_done(self, child, ok: bool) -> None:
        self.remaining -= 1
        self.ok = self.ok and ok
        if self.remaining == 0:
            self.finished = True
            if not self._building:
                self.parent.child_done(self, self.ok)


class _Retry:
    """DurableTask's RetryInterceptor: attempt, timer, attempt ... failing after the last timer."""

    def __init__(self, replay: _Replay, parent, action: dict):
        self.replay = replay
        self.parent = parent
        self.action = action
        options = action["retryOptions"]
        self.first_interval_ms = options["firstRetryIntervalInMilliseconds"]
        self.max_attempts = options["maxNumberOfAttempts"]
        self.backoff = options.get("backoffCoefficient", 1.0)
        self.max_interval_ms = options.get("maxRetryIntervalInMilliseconds")
        self.attempts = 0
        self.finished = False
        self._attempt()

    def _attempt(self) -> None:
        self.attempts += 1
        self.replay.work(ACTIVITY, self, name=self.action["functionName"], input_json=self.action.get("input"))

    def delay(self) -> timedelta:
        """The wait after failed attempt n: first interval * backoff^(n-1), capped."""
        millis = self.first_interval_ms * self.backoff ** (self.attempts - 1)
        if self.max_interval_ms is not None:
            millis = min(millis, self.max_interval_ms)
        return timedelta(milliseconds=millis)

    def child_done(self, child: Work, ok: bool) -> None:
        if child.kind == ACTIVITY and ok:
            self._finish(True)
        elif child.kind == ACTIVITY:
            self.replay.work(RETRY_TIMER, self, fire_at=format_time(self.replay.now + self.delay()))
        elif self.attempts >= self.max_attempts:
            self._finish(False)
        else:
            self._attempt()

    def _finish(self, ok: bool) -> None:
        self.finished = True
        self.parent.child_done(self, ok)


def _action_name(kind: int) -> str:
    try:
        return ActionType(kind).name
    except ValueError:
        return f"actionType {kind}"
