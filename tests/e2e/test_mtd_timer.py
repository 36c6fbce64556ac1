"""The month-to-date timer (``%CHARGEBACK_MTD_SCHEDULE%``), called as the Functions host calls it, with the
local host's real durable client: it starts this month's refresh, and a tick while one runs starts no other."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from azure.functions.timer import TimerRequest

from devhost.functions import function_index, user_function
from devhost.local_host import LocalHost


@pytest.fixture
def paused_host(month_loaded):
    """Instances stay Pending until driven, so 'still refreshing' can be observed."""
    from chargeback.wiring import reset_services, services
    reset_services()
    services()
    host = LocalHost(background=False)
    yield host
    host.close()


def tick(host: LocalHost) -> None:
    timer = user_function("mtd_timer")
    host.http._async.run(timer(timer=TimerRequest(past_due=False), client=host.durable.client_binding()))


def test_the_timer_is_registered_on_its_schedule_setting():
    function = function_index()["mtd_timer"]
    assert function.get_trigger().type == "timerTrigger"
    bindings = json.loads(function.get_function_json())["bindings"]
    timer = next(b for b in bindings if b["type"] == "timerTrigger")
    assert timer["schedule"] == "%CHARGEBACK_MTD_SCHEDULE%"
    assert timer.get("runOnStartup") in (None, False)
    assert any(b["type"] == "durableClient" for b in bindings)


def test_a_tick_starts_this_months_refresh_and_a_second_tick_while_it_runs_starts_none(paused_host):
    month = datetime.now(UTC).strftime("%Y-%m")   # independently of the code: this month, UTC
    instance = f"mtd-{month}"
    assert paused_host.durable.get_status(instance) is None
    tick(paused_host)
    status = paused_host.durable.get_status(instance)
    assert status is not None and status["input"] == {"month": month, "trigger": "timer"}
    assert status["runtimeStatus"] == "Pending"

    time.sleep(1.1)   # createdTime has whole seconds: a restart would show
    tick(paused_host)   # still pending: left alone, not restarted
    again = paused_host.durable.get_status(instance)
    assert (again["createdTime"], again["runtimeStatus"]) == (status["createdTime"], "Pending")

    done = paused_host.durable.run_until_idle(instance, timeout=120)
    assert done["runtimeStatus"] == "Completed", done.get("output")
    assert done["output"]["month"] == month and done["output"]["partitions_read"] == 0   # no usage this month

    time.sleep(1.1)
    tick(paused_host)   # the refresh finished: the next tick refreshes again
    after = paused_host.durable.get_status(instance)
    assert after["runtimeStatus"] == "Pending" and after["createdTime"] != status["createdTime"]
