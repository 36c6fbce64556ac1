"""The notify step skips a department nobody listens to without reading its run document (issue 17)."""
from __future__ import annotations

import pytest

from chargeback.workflow.notifying import notify_department_step
from tests.unit.workflow.test_notifications import CONFIG, FakeChannel, FakeStores, context, invoice


class CountingStores(FakeStores):
    def __init__(self):
        super().__init__()
        self.reads = []

    def get_json(self, container, name):
        if not name.endswith("/departments/_index.json"):   # the run's bundle index, looked for first
            self.reads.append(name)
        return super().get_json(container, name)


@pytest.mark.parametrize(("department", "reason"), [("unallocated", "not a department"),
                                                    ("legal", "no notify settings"), ("gone", "no notify settings")])
def test_with_the_runs_configuration_a_department_without_channels_reads_nothing(department, reason):
    stores = CountingStores()
    email, webhook = FakeChannel(), FakeChannel()
    ctx, _ = context(stores, email, webhook)
    result = notify_department_step(ctx, "2026-10", "run-2", invoice(department), CONFIG.fingerprint())
    assert result == {"department": department, "version": 1, "revision": False, "deliveries": [],
                      "skipped": reason}
    assert stores.reads == [] and email.sent == webhook.sent == [] and stores.records == {}


def test_a_configuration_that_is_gone_skips_like_one_without_the_department():
    stores = CountingStores()
    ctx, _ = context(stores)
    result = notify_department_step(ctx, "2026-10", "run-2", invoice(), "sha256:" + "0" * 64)
    assert result["skipped"] == "no notify settings" and stores.reads == []


def test_a_department_with_channels_reads_its_document_once_and_sends_what_it_sent_before():
    with_fingerprint, without = CountingStores(), CountingStores()
    sent = {}
    for stores, fingerprint in ((with_fingerprint, CONFIG.fingerprint()), (without, None)):
        email, webhook = FakeChannel(), FakeChannel()
        ctx, _ = context(stores, email, webhook)
        result = notify_department_step(ctx, "2026-10", "run-2", invoice(version=2), fingerprint)
        assert [(d["channel"], d["status"]) for d in result["deliveries"]] == [("email", "sent"), ("webhook", "sent")]
        sent[fingerprint] = (email.sent, webhook.sent)
    # the revision reason reads the earlier run's document too: one read of this run's, one of the earlier's
    assert with_fingerprint.reads == without.reads
    assert [name for name in with_fingerprint.reads if "/run-2/" in name] == [
        "2026-10/run-2/departments/marketing.json"]
    assert sent[CONFIG.fingerprint()] == sent[None]
    assert sent[None][0][0][0].previous_total is not None
