"""The app's durable functions, called the way the Python worker calls them.

Orchestrators get an ``OrchestrationContext`` over the context JSON and return the SDK's state
JSON; activities get their input decoded by the SDK's ``ActivityTriggerConverter`` and their
result encoded by it, so payloads cross the same (de)serialisers as in Azure.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter
from azure.functions.meta import Datum

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


class UnknownFunction(LookupError):
    """No durable function of that name and kind is registered."""


@dataclass(frozen=True)
class OrchestratorOutcome:
    """One orchestrator invocation: the SDK's state, and its error when user code raised."""
    state: dict
    error: str | None = None


@dataclass(frozen=True)
class ActivityOutcome:
    """One activity invocation: the JSON result, or the failure's reason and details."""
    result_json: str | None = None
    reason: str | None = None
    details: str | None = None

    @property
    def failed(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class _Registered:
    name: str
    parameter: str
    call: Callable[..., Any]


class FunctionRegistry:
    """Orchestrators and activities by function name, from an app or its indexed functions."""

    def __init__(self, app_or_functions):
        functions = _functions_of(app_or_functions)
        self.orchestrators: dict[str, _Registered] = {}
        self.activities: dict[str, _Registered] = {}
        self.other_triggers: dict[str, str] = {}
        for function in functions:
            trigger = function.get_trigger()
            entry = _Registered(function.get_function_name(), trigger.name, function.get_user_function())
            if trigger.type == ORCHESTRATION_TRIGGER:
                self.orchestrators[entry.name] = entry
            elif trigger.type == ACTIVITY_TRIGGER:
                self.activities[entry.name] = entry
            else:  # entityTrigger, httpTrigger, timerTrigger, eventHubTrigger ...: not this host's job
                self.other_triggers[entry.name] = trigger.type

    def orchestrator(self, name: str) -> _Registered:
        try:
            return self.orchestrators[name]
        except KeyError:
            raise UnknownFunction(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Orchestrators: {', '.join(sorted(self.orchestrators)) or 'none'}.") from None

    def run_orchestrator(self, name: str, context_json: str) -> OrchestratorOutcome:
        """Invoke the orchestrator once; an exception from user code becomes an error outcome."""
        entry = self.orchestrator(name)
        context = OrchestrationTriggerConverter.decode(Datum(context_json, "string"), trigger_metadata=None)
        try:
            returned = entry.call(**{entry.parameter: context})
        except Exception as error:  # the SDK re-raises user errors with its state appended
            return _failed_orchestration(error)
        return OrchestratorOutcome(json.loads(returned))

    def run_activity(self, name: str, input_json: str | None) -> ActivityOutcome:
        """Invoke the activity; an Exception becomes TaskFailed material, a BaseException escapes."""
        entry = self.activities.get(name)
        if entry is None:
            return ActivityOutcome(reason=f"The function '{name}' doesn't exist, is disabled, "
                                          "or is not an activity function.", details="")
        try:
            value = ActivityTriggerConverter.decode(Datum(input_json or "null", "json"), trigger_metadata=None)
            result = entry.call(**{entry.parameter: value})
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
            return ActivityOutcome(ActivityTriggerConverter.encode(result, expected_type=None).value)
        except Exception as error:
            reason = f"Activity function '{name}' failed: {type(error).__name__}: {error}"
            # The trace starts in the user's function, not in this host.
            trace = traceback.format_exception(type(error), error, error.__traceback__.tb_next)
            return ActivityOutcome(reason=reason, details="".join(trace))


# An app may be indexed only once (a second get_functions() fails on "duplicate" names), so
# each app is indexed here once; pass devhost.functions.function_index() if it was indexed elsewhere.
_INDEXED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()


def _functions_of(app_or_functions) -> Iterable:
    if hasattr(app_or_functions, "get_functions"):
        with _INDEX_LOCK:
            if app_or_functions not in _INDEXED:
                _INDEXED[app_or_functions] = app_or_functions.get_functions()
            return _INDEXED[app_or_functions]
    if isinstance(app_or_functions, dict):
        return app_or_functions.values()
    return app_or_functions


def _failed_orchestration(error: Exception) -> OrchestratorOutcome:
    text = str(error)
    message, marker, state_json = text.partition(OUT_OF_PROC_MARKER)
    state = json.loads(state_json) if marker else {"isDone": False, "actions": [[]]}
    return OrchestratorOutcome(state, state.get("error") or message or type(error).__name__)


async def _awaited(awaitable):
    return await awaitable
