"""Issue 11: owed notices are sent by the month's next run, unchanged or not, and a notice sent twice
(at least once delivery) carries the same id both times."""
from __future__ import annotations

import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chargeback.errors import StorageUnavailable
from chargeback.notices.channels import WebhookPoster
from chargeback.notices.render import Notice
from chargeback.storage.notice_store import NOTICES_TABLE, NoticeStore
from devhost.functions import user_function

from .test_notices import notifying, outbox, run, webhook

__all__ = ["notifying", "outbox", "webhook"]   # fixtures, shared with test_notices


def test_notices_lost_to_a_storage_failure_are_sent_by_the_next_run_though_nothing_changed(
        notifying, outbox, webhook, monkeypatch):
    def storage_down(self, *key):
        raise StorageUnavailable("storage failed while reading a notice delivery: ServiceRequestError")
    with monkeypatch.context() as patched:
        patched.setattr(NoticeStore, "get", storage_down)
        first = run(notifying())
    assert first["notices"]["error"].startswith("notices not sent:")
    assert outbox.files() == [] and webhook.posts == []

    again = run(notifying())   # the invoices are unchanged: the notices are still owed
    assert {i["changed"] for i in again["invoices"]} == {False}
    assert sorted(m["To"] for m in outbox.messages()) == ["alice@example.com", "bob@example.com"]
    assert len(webhook.posts) == 1
    assert (again["notices"]["sent"], again["notices"]["failed"]) == (3, 0)

    third = run(notifying())   # delivered now: nothing more is owed
    assert third["notices"]["sent"] == 0 and len(outbox.files()) == 2 and len(webhook.posts) == 1


def test_a_notice_sent_again_after_a_lost_record_keeps_its_message_id(notifying, outbox, webhook):
    output = run(notifying())
    from chargeback.wiring import services
    table = services().account.table(NOTICES_TABLE)
    for row in list(table.list_entities()):   # as if the host died between the send and the record
        table.delete_entity(row["PartitionKey"], row["RowKey"])
    sales = next(i for i in output["invoices"] if i["department"] == "sales")
    user_function("notify_department")(request={"month": "2026-10", "run_id": output["run_id"], "invoices": [sales]})
    ids = [m["Message-ID"] for m in outbox.messages() if m["To"] == "bob@example.com"]
    assert len(ids) == 2 and ids[0] == ids[1] and "CB-2026-10-SALES-1" in ids[0]
    assert len(webhook.posts) == 2


def test_the_webhook_carries_one_notice_id_per_version_and_channel():
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.headers.get("X-Chargeback-Notice-Id"))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        notice = Notice(month="2026-10", department="sales", name="Sales", total=Decimal(1), currency="USD",
                        version=2, revision=True, invoice_number="CB-2026-10-SALES-2", link="l", portal="p",
                        deployments=())
        poster = WebhookPoster()
        poster.deliver(notice, url)
        poster.deliver(notice, url)
        poster.deliver(Notice(**{**notice.__dict__, "version": 3, "invoice_number": "CB-2026-10-SALES-3"}), url)
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["CB-2026-10-SALES-2.sales.webhook"] * 2 + ["CB-2026-10-SALES-3.sales.webhook"]
