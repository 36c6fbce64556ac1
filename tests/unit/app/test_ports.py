"""The workflow's ports let mypy catch a wrong store or context (they were typed ``object`` before)."""
from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[3]

WRONG = '''
from chargeback.settings import Settings
from chargeback.storage.account import StorageAccount
from chargeback.storage.config_store import ConfigStore
from chargeback.storage.deadletter_store import DeadLetterStore
from chargeback.storage.documents import DocumentStore
from chargeback.storage.invoice_index import InvoiceIndex
from chargeback.storage.notice_store import NoticeStore
from chargeback.storage.usage_table import UsageStore
from chargeback.workflow.ingesting import ingest_batch, replay_dead_letters
from chargeback.workflow.invoicing import InvoicingContext, load_department
from chargeback.workflow.notifying import NotifyContext

account = StorageAccount(Settings())
right = InvoicingContext(usage=UsageStore(account), config=ConfigStore(account), documents=DocumentStore(account),
                         index=InvoiceIndex(account))
swapped = InvoicingContext(usage=ConfigStore(account), config=UsageStore(account), documents=DocumentStore(account),
                           index=NoticeStore(account))
notify = NotifyContext(settings=Settings(), documents=DocumentStore(account), config=ConfigStore(account),
                       index=InvoiceIndex(account), notices=NoticeStore(account), channels={})
load_department(notify, "2026-10", "r", "sales")
ingest_batch([], UsageStore(account), DeadLetterStore(account))
replay_dead_letters(DeadLetterStore(account), UsageStore(account))
ingest_batch([], DeadLetterStore(account), UsageStore(account))
'''


def test_mypy_refuses_swapped_stores_and_a_context_where_documents_belong(tmp_path):
    """The right stores pass (lines not listed); each swap is one error."""
    probe = tmp_path / "probe.py"
    probe.write_text(WRONG)
    out, _, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary",
                              "--cache-dir", str(ROOT / ".mypy_cache"), str(probe)])
    # Only the probe's lines (mypy's cache may name it by the path of an earlier run: match the file name).
    errors = sorted(line.split(": error: ")[1] for line in out.splitlines() if "/probe.py:" in line)
    assert status == 1
    assert [e.split(";")[0] for e in errors] == [
        'Argument "config" to "InvoicingContext" has incompatible type "UsageStore"',
        'Argument "index" to "InvoicingContext" has incompatible type "NoticeStore"',
        'Argument "usage" to "InvoicingContext" has incompatible type "ConfigStore"',
        'Argument 1 to "load_department" has incompatible type "NotifyContext"',
        'Argument 2 to "ingest_batch" has incompatible type "DeadLetterStore"',
        'Argument 3 to "ingest_batch" has incompatible type "UsageStore"',
    ]
