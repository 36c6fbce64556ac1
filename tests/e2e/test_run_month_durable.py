"""Issue 11, "nothing stuck": a killed run-month is resumed by the next, --restart starts over, and two
run-months of one month never both run (the second says so at once)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from chargeback.errors import RunInProgress
from chargeback.storage.documents import INVOICES
from chargeback.workflow import invoicing
from devhost.durable import TableInstanceStore
from devhost.local_host import INSTANCES_TABLE, LocalHost
from tests.conftest import ROOT

from .conftest import EXPECTED_TOTALS

LEASE = 2.0


def totals(output: dict) -> dict:
    return {i["department"]: i["total"] for i in output["invoices"]}


def one_version_each(services) -> None:
    for department in EXPECTED_TOTALS:   # no duplicate side effects from the abandoned execution
        assert [v.version for v in services.invoice_index.versions("2026-10", department)] == [1]
        assert len(services.documents.list(INVOICES, f"2026-10/{department}/")) == 1


CHILD = textwrap.dedent("""
    import sys, threading
    import chargeback.workflow.invoicing as invoicing
    from devhost.local_host import LocalHost

    def stuck(*args, **kwargs):          # rendering never ends: the process is killed in the middle
        threading.Event().wait()
    invoicing.render_department_step = stuck
    host = LocalHost(retry_delay_scale=0.001, lease_seconds=float(sys.argv[1]))
    host.start_month("2026-10")
    print("started", flush=True)
    threading.Event().wait()
""")


def wait_for_stage(store: TableInstanceStore, stage: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = store.load("invoice-2026-10", with_history=False)
        if record is not None and record.custom_status_json and stage in record.custom_status_json:
            return
        time.sleep(0.2)
    raise AssertionError(f"the run never reached {stage}")


def test_a_run_month_killed_with_sigkill_is_resumed_by_the_next_run_month(month_loaded, storage, tmp_path):
    env = {**os.environ, "CHARGEBACK_STORAGE": storage.connection_string, "CHARGEBACK_TABLE_PREFIX": storage.prefix}
    log = (tmp_path / "child.log").open("w")   # a file, not a pipe: a full pipe would stall the child
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(LEASE)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert child.stdout.readline().strip() == "started", (tmp_path / "child.log").read_text()
        store = TableInstanceStore(storage.connection_string, storage.prefix + INSTANCES_TABLE)
        wait_for_stage(store, "rendering")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        log.close()
    with LocalHost(retry_delay_scale=0.001, lease_seconds=LEASE) as host:
        began = time.monotonic()
        with pytest.raises(RunInProgress, match="--follow"):   # its lease may still run: said at once
            host.start_month("2026-10")
        assert time.monotonic() - began < 5
        time.sleep(LEASE + 0.5)   # the killed host renews nothing: its lease runs out
        instance = host.start_month("2026-10")
        assert host.resumed == [instance]
        status = host.durable.wait_for_completion(instance, timeout=240)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert totals(status["output"]) == EXPECTED_TOTALS
    one_version_each(month_loaded)


def test_restart_abandons_the_unfinished_run_and_starts_over(month_loaded, monkeypatch):
    real = invoicing.render_department_step
    release, first_host_calls = threading.Event(), []

    def blocks_in_the_first_host(ctx, month, run_id, department, issue_date):
        if not first_host_calls or first_host_calls[0] == run_id:
            first_host_calls.append(run_id)
            release.wait(60)
        return real(ctx, month, run_id, department, issue_date)
    monkeypatch.setattr(invoicing, "render_department_step", blocks_in_the_first_host)
    first = LocalHost(retry_delay_scale=0.001, lease_seconds=30)
    try:
        first.start_month("2026-10")
        deadline = time.monotonic() + 60
        while not first_host_calls and time.monotonic() < deadline:
            time.sleep(0.1)
        with LocalHost(retry_delay_scale=0.001, lease_seconds=30) as second:
            with pytest.raises(RunInProgress):   # alive and leased: not resumed behind its back
                second.start_month("2026-10")
            instance = second.start_month("2026-10", restart=True)
            release.set()   # the first host's activity returns; its runner is superseded
            status = second.durable.wait_for_completion(instance, timeout=120)
    finally:
        release.set()
        first.close()
    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert totals(status["output"]) == EXPECTED_TOTALS
    assert status["output"]["run_id"] != first_host_calls[0]


def test_two_run_months_of_one_month_never_both_start(month_loaded, monkeypatch):
    """The "already running" check was a read then a write: both could pass it. A store that pauses
    between them makes the race certain; the conditional insert lets exactly one through."""
    real_load = TableInstanceStore.load
    ready = threading.Barrier(2)

    def slow_load(self, instance_id, with_history=True):
        record = real_load(self, instance_id, with_history)
        if not with_history and threading.current_thread().name.startswith("racer"):
            ready.wait(10)   # both have read "no run" before either writes
        return record
    monkeypatch.setattr(TableInstanceStore, "load", slow_load)
    hosts = [LocalHost(retry_delay_scale=0.001) for _ in range(2)]
    outcomes: dict[int, object] = {}

    def race(n: int) -> None:
        began = time.monotonic()
        try:
            outcomes[n] = hosts[n].start_month("2026-10")
        except RunInProgress as refused:
            outcomes[n] = (refused, time.monotonic() - began)
    threads = [threading.Thread(target=race, args=(n,), name=f"racer-{n}") for n in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        monkeypatch.setattr(TableInstanceStore, "load", real_load)
        started = [n for n, o in outcomes.items() if o == "invoice-2026-10"]
        refused = [o for o in outcomes.values() if isinstance(o, tuple)]
        assert len(started) == 1 and len(refused) == 1, outcomes
        error, seconds = refused[0]
        assert "already running" in str(error) and "--follow" in str(error) and seconds < 12
        status = hosts[started[0]].durable.wait_for_completion("invoice-2026-10", timeout=120)
        followed = hosts[1 - started[0]].follow("2026-10", timeout=120)
    finally:
        for host in hosts:
            host.close()
    assert status["runtimeStatus"] == followed["runtimeStatus"] == "Completed"
    one_version_each(month_loaded)
