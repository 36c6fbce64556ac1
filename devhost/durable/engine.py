"""The local Durable Functions host: starts, drives, resumes and queries orchestration instances.

A stand-in for the Functions host plus the Durable extension; orchestrators run through the SDK's
own replay engine, activities in a thread pool. No business logic lives here.

It keeps only what the product uses. Orchestrators may call ``call_activity_with_retry`` and
``task_all``, ``set_custom_status``, ``get_input`` and ``current_utc_datetime``; a plain
``call_activity``, ``create_timer``, ``task_any``, external events, sub-orchestrations, entities and
``continue_as_new`` fail the instance with "does not support". Clients may start an instance (or, for
``run-month --restart``, start it over: a new execution supersedes the old) and ask its status; terminate,
purge, rewind, raise-event, suspend, resume and instance queries are not served (the management API
answers 501).
"""
from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from devhost.durable.errors import HostAborted, InstanceAlreadyRunning, InstanceNotFound, Superseded
from devhost.durable.registry import FunctionRegistry
from devhost.durable.replay import Work
from devhost.durable.runner import InstanceRunner
from devhost.durable.store import InstanceRecord

__all__ = ["DurableHost", "HostAborted", "InstanceAlreadyRunning", "InstanceNotFound"]

_FORBIDDEN_ID_CHARS = set("/\\#?")


class DurableHost:
    """Runs a DFApp's orchestrations locally; ``background=True`` drives each instance on its own thread."""

    def __init__(self, app, store, max_workers: int = 4, *, background: bool = False,
                 retry_delay_scale: float = 1.0, lease_seconds: float = 30.0):
        self.registry = FunctionRegistry(app)
        # The instances this host drives carry its id and a lease it renews; a host that dies (SIGKILL)
        # stops renewing, and once the lease runs out the next host resumes them.
        self.host_id = uuid.uuid4().hex
        self.lease_seconds = lease_seconds
        self._leased: dict[str, str] = {}   # instance id -> execution id whose lease this host renews
        self._heartbeat: threading.Thread | None = None
        self.store = store
        self.background = background
        self.retry_delay_scale = retry_delay_scale
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="durable-activity")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._runners: dict[str, InstanceRunner] = {}
        self._aborted: BaseException | None = None
        self._stopped = False
        self._driver_failures: dict[str, Exception] = {}
        self._api = None

    # Instance management (what DurableOrchestrationClient asks of the extension).
    def start_new(self, name: str, instance_id: str | None = None, input=None, *, restart: bool = False) -> str:
        """Create a Pending instance; a finished instance id may be reused, a running one may not (unless
        ``restart``: its execution is abandoned and a new one starts over)."""
        return self.start_new_json(name, instance_id, None if input is None else _dumps(input), restart=restart)

    def start_new_json(self, name: str, instance_id: str | None, input_json: str | None, *,
                       restart: bool = False) -> str:
        """start_new with the input already serialised (as the HTTP API receives it). Atomic across hosts
        over one store: of two starts of one id, one wins and the other gets InstanceAlreadyRunning."""
        self._check_alive()
        self.registry.orchestrator(name)
        instance_id = instance_id or uuid.uuid4().hex
        if not instance_id or _FORBIDDEN_ID_CHARS & set(instance_id) or not instance_id.isprintable():
            raise ValueError(f"invalid instance id {instance_id!r}: no '/', '\\', '#', '?' or control characters")
        now = datetime.now(UTC)
        with self._lock:
            existing = self.store.load(instance_id, with_history=False)
            if existing is not None and not existing.finished and not restart:
                raise InstanceAlreadyRunning(
                    f"An instance with ID '{instance_id}' already exists and is {existing.runtime_status}.",
                    existing)
            record = InstanceRecord(instance_id, name, uuid.uuid4().hex, "Pending", input_json, now, now,
                                    owner=self.host_id, lease_until=self._lease_end())
            if hasattr(self.store, "claim"):
                self.store.claim(record, existing)
            else:
                self.store.save(record)
            runner = self._runners[instance_id] = InstanceRunner(self, instance_id, record.execution_id)
            self._hold(instance_id, record.execution_id)
            self._changed.notify_all()
        if self.background:
            self._drive_in_background(runner)
        return instance_id

    def run_until_idle(self, instance_id: str, timeout: float | None = None) -> dict:
        """Drive the instance in this thread until it finishes or has nothing outstanding; its status."""
        self._check_alive()
        runner = self._runner(instance_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        with contextlib.suppress(Superseded):   # restarted meanwhile: the new execution's status is the answer
            runner.drive(deadline)
        return self.get_status(instance_id)

    def resume_all(self) -> list[str]:
        """Continue every instance a gone host left unfinished (its lease ran out) from its stored history;
        their ids. One another live host drives is left to it."""
        resumed = []
        for record in self.store.list_records():
            try:
                self.resume(record.instance_id)
            except InstanceAlreadyRunning:
                continue
            resumed.append(record.instance_id)
        return resumed

    def resume(self, instance_id: str) -> None:
        """Take over an abandoned instance and drive it on; InstanceAlreadyRunning while its host lives
        (or when it is finished: then there is nothing to resume)."""
        self._check_alive()
        record = self.store.load(instance_id, with_history=False)
        if record is None:
            raise InstanceNotFound(instance_id)
        if not record.abandoned(datetime.now(UTC)):
            raise InstanceAlreadyRunning(f"instance {instance_id} is {record.runtime_status} on a live host",
                                         record)
        if hasattr(self.store, "take_over"):
            self.store.take_over(record, self.host_id, self._lease_end())
        self._hold(instance_id, record.execution_id)
        if self.background:
            self._drive_in_background(self._runner(instance_id))
        else:
            self.run_until_idle(instance_id)

    def wait_for_completion(self, instance_id: str, timeout: float = 30.0) -> dict:
        """The status once Completed, Failed or Terminated; TimeoutError if that takes longer than timeout."""
        deadline = time.monotonic() + timeout
        if not self.background:
            self.run_until_idle(instance_id, timeout)
        with self._changed:
            while True:
                self._check_alive(instance_id)
                record = self.store.load(instance_id, with_history=False)
                if record is None:
                    raise InstanceNotFound(instance_id)
                if record.finished:
                    return record.status()
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.background:
                    raise TimeoutError(f"instance {instance_id} is still {record.runtime_status}")
                self._changed.wait(min(remaining, 0.5))   # polls too: another host may be driving it

    def get_status(self, instance_id: str) -> dict | None:
        """The status API's view of the instance, or None when there is none."""
        record = self.store.load(instance_id, with_history=False)
        return None if record is None else record.status()

    # The management HTTP API, for starters using the real DurableOrchestrationClient.
    def client_binding(self, task_hub: str = "DevHostHub") -> str:
        """The durableClient binding JSON the worker would give a starter; serves the API on first use."""
        return self.management_api().binding_json(task_hub)

    def management_api(self):
        """The management HTTP API of this host (started on first use)."""
        from devhost.durable.client_api import ManagementApi
        with self._lock:
            if self._api is None:
                self._api = ManagementApi(self)
                self._api.start()
        return self._api

    def close(self) -> None:
        """Stop the HTTP API, the drivers and the activity pool; running activities are abandoned, and the
        leases handed back so the next host resumes at once."""
        if self._api is not None:
            self._api.stop()
            self._api = None
        self._stop_everything()

    # Leases: held while this host drives an instance, renewed by a heartbeat, released on close.
    def _lease_end(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.lease_seconds)

    def _hold(self, instance_id: str, execution_id: str) -> None:
        self._leased[instance_id] = execution_id   # one dict assignment: atomic, with or without the lock
        if self._heartbeat is None and hasattr(self.store, "renew"):
            self._heartbeat = threading.Thread(target=self._renew_leases, name="durable-lease", daemon=True)
            self._heartbeat.start()

    def _renew_leases(self) -> None:
        while not self._stopped:
            time.sleep(self.lease_seconds / 3)
            for instance_id, execution_id in list(self._leased.items()):
                with contextlib.suppress(Exception):   # storage down: the lease may lapse, and that is safe
                    self.store.renew(instance_id, execution_id, self.host_id, self._lease_end())

    def _release_leases(self) -> None:
        past = datetime.now(UTC) - timedelta(seconds=1)
        for instance_id, execution_id in list(self._leased.items()):
            with contextlib.suppress(Exception):
                self.store.renew(instance_id, execution_id, self.host_id, past)
        self._leased.clear()

    def __enter__(self) -> DurableHost:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Used by the runners.
    def save(self, runner: InstanceRunner, record: InstanceRecord) -> None:
        with self._lock:
            if self._runners.get(record.instance_id) is not runner:
                raise Superseded(record.instance_id)
            # A host that is stopping saves what it has (a crash keeps its last batch) but holds no lease.
            ends = datetime.now(UTC) - timedelta(seconds=1) if self._stopped else self._lease_end()
            record.owner, record.lease_until = self.host_id, ends
            self.store.save(record)   # Superseded when another host restarted or took it over
            if record.finished:
                self._leased.pop(record.instance_id, None)
            self._changed.notify_all()

    def submit_activity(self, runner: InstanceRunner, work: Work) -> None:
        try:
            future = self._executor.submit(self.registry.run_activity, work.name, work.input_json)
        except RuntimeError:  # the pool is shut down: the host is closing, the runner gets "stop"
            return
        future.add_done_callback(lambda done: _report(runner, work.event_id, done))

    def abort(self, cause: BaseException) -> None:
        """The host 'dies': nothing more runs; a new DurableHost over the same store resumes."""
        with self._lock:
            self._aborted = self._aborted or cause
        self._stop_everything()

    @property
    def aborted(self) -> bool:
        return self._aborted is not None

    def aborted_error(self) -> HostAborted:
        return HostAborted(f"host aborted by {type(self._aborted).__name__}: {self._aborted}")

    def _stop_everything(self) -> None:
        with self._lock:
            self._stopped = True
            runners = list(self._runners.values())
            self._changed.notify_all()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for runner in runners:
            runner.post(("stop",))
        if hasattr(self.store, "renew"):
            self._release_leases()

    def _check_alive(self, instance_id: str | None = None) -> None:
        if self._aborted is not None:
            raise self.aborted_error()
        if self._stopped:
            raise RuntimeError("this DurableHost is closed")
        failure = self._driver_failures.get(instance_id)
        if failure is not None:
            raise RuntimeError(f"the driver of instance {instance_id} failed: {failure!r}") from failure

    def _runner(self, instance_id: str) -> InstanceRunner:
        with self._lock:
            record = self.store.load(instance_id, with_history=False)
            if record is None:
                raise InstanceNotFound(instance_id)
            runner = self._runners.get(instance_id)
            if runner is None or runner.execution_id != record.execution_id:
                runner = self._runners[instance_id] = InstanceRunner(self, instance_id, record.execution_id)
            return runner

    def _drive_in_background(self, runner: InstanceRunner) -> None:
        def drive():
            try:
                runner.drive()
            except (Superseded, HostAborted):
                pass
            except Exception as error:  # e.g. storage down: surfaced by wait_for_completion
                with self._lock:
                    self._driver_failures[runner.instance_id] = error
                    self._changed.notify_all()
                raise
        threading.Thread(target=drive, name=f"durable-{runner.instance_id}", daemon=True).start()


def _report(runner: InstanceRunner, event_id: int, done: Future) -> None:
    if done.cancelled():
        return
    error = done.exception()
    if error is not None:  # only a BaseException gets here: run_activity turns Exceptions into TaskFailed
        runner.post(("crashed", event_id, error))
        runner.host.abort(error)  # still in the worker thread, so no queued activity starts after it
    else:
        runner.post(("completed", event_id, done.result()))


def _dumps(value) -> str:
    from azure.durable_functions.models.utils.df_serialization import df_dumps
    return df_dumps(value)
