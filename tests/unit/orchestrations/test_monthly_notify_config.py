"""The orchestrator hands the notify activities the configuration the run priced with (issue 17: notify
reads a department's run document only when someone listens)."""
from __future__ import annotations

from activities.names import NOTIFY_DEPARTMENT
from tests.unit.orchestrations.test_monthly import FakeContext, answers, run


def test_every_notify_batch_carries_the_priced_configuration():
    context = FakeContext("2026-10", answers(partitions=3, departments=tuple(f"d{i:02d}" for i in range(20))))
    run(context)
    notify = [r for name, r in context.calls if name == NOTIFY_DEPARTMENT]
    assert len(notify) == 16
    assert {r["config_fingerprint"] for r in notify} == {"sha256:cfg"}   # PRICE_MONTH's answer
