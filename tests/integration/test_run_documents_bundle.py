"""Against Azurite: a run's department documents in one blob, read a batch at a time with one ranged read
(issue 17), and runs priced before bundles still read from their one-blob-per-department layout."""
from __future__ import annotations

import pytest

from chargeback.storage.documents import RUNS, DocumentStore
from chargeback.workflow.run_documents import BUNDLE, INDEX, read_department_documents, write_department_documents

PREFIX = "2026-10/20261101T020005123456Z"


def docs() -> dict[str, dict]:
    return {f"d{n:03d}": {"charges": {"name": f"Forschung & Entwicklung – Zürich {n}", "total": f"{n}.50"},
                          "daily": [{"day": "2026-10-03", "meters": {"input": n * 1000}}] * (n % 4),
                          "attribution": [{"label": '"quoted" \\ back\u2028slash'}] if n % 7 == 0 else []}
            for n in range(40)}


class CountingStore(DocumentStore):
    def __init__(self, account):
        super().__init__(account)
        self.ranges, self.gets = [], []

    def get_range(self, container, name, offset, length):
        self.ranges.append((name, offset, length))
        return super().get_range(container, name, offset, length)

    def get_json(self, container, name):
        self.gets.append(name)
        return super().get_json(container, name)


def test_a_batch_reads_exactly_its_documents_in_one_ranged_read(app_services):
    store = CountingStore(app_services.account)
    written = docs()
    write_department_documents(store, PREFIX, written)
    assert store.get_json(RUNS, f"{PREFIX}/{BUNDLE}") == written   # the bundle is one valid JSON object
    store.gets.clear()
    batch = ["d010", "d011", "d012", "d014"]
    assert read_department_documents(store, PREFIX, batch) == {d: written[d] for d in batch}
    assert store.gets == [f"{PREFIX}/{INDEX}"] and len(store.ranges) == 1
    assert read_department_documents(store, PREFIX, ["d039", "d000"]) == {"d039": written["d039"],
                                                                          "d000": written["d000"]}
    assert read_department_documents(store, PREFIX, list(written)) == written
    assert read_department_documents(store, PREFIX, []) == {}


def test_a_department_the_run_did_not_price_is_not_found(app_services):
    store = DocumentStore(app_services.account)
    write_department_documents(store, PREFIX, docs())
    with pytest.raises(FileNotFoundError, match="no document of gone"):
        read_department_documents(store, PREFIX, ["d001", "gone"])


def test_a_bundle_shorter_than_its_index_is_never_read_as_documents(app_services):
    store = DocumentStore(app_services.account)
    write_department_documents(store, PREFIX, docs())
    store.put(RUNS, f"{PREFIX}/{BUNDLE}", b'{"d000":{}}', "application/json")
    with pytest.raises(FileNotFoundError, match="shorter than its index"):
        read_department_documents(store, PREFIX, ["d039"])


def test_a_run_priced_before_bundles_reads_one_blob_per_department(app_services):
    store = CountingStore(app_services.account)
    old = {"marketing": {"charges": {"total": "1.00"}, "daily": []}, "sales": {"charges": {}, "daily": [1]}}
    for department, doc in old.items():
        store.put_json(RUNS, f"{PREFIX}/departments/{department}.json", doc)
    assert read_department_documents(store, PREFIX, ["sales", "marketing"]) == old
    assert store.ranges == []
    with pytest.raises(FileNotFoundError):
        read_department_documents(store, PREFIX, ["legal"])
