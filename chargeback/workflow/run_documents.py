"""A run's per-department documents in one blob: written once by the price step, read a batch at a time.

The price step used to write one blob per department and each renderer read its own back: two blob round
trips per department (~4 ms of client CPU each, issue 17). Now the documents go into one blob,
``{run}/departments.json``, a JSON object ``{department: document}``, and ``{run}/departments/_index.json``
names each document's byte span in it (no department id can be ``_index``: ids are ``[a-z0-9-]+``). A batch
of departments (one activity's) is one ranged read of the spans it needs. Runs priced before this keep their
``{run}/departments/{id}.json`` blobs, which the reader falls back to when a run has no index.
"""
from __future__ import annotations

import json
from typing import Any

from chargeback.storage.documents import JSON, RUNS
from chargeback.workflow.ports import Documents

INDEX, BUNDLE = "departments/_index.json", "departments.json"


def write_department_documents(documents: Documents, prefix: str, docs: dict[str, dict[str, Any]]) -> None:
    """Store the run's documents (``prefix``: the run's folder), the bundle first, then the index naming it."""
    parts, spans, offset = [b"{"], {}, 1
    for n, (department, doc) in enumerate(docs.items()):
        head = (b"," if n else b"") + json.dumps(department).encode() + b":"
        value = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        spans[department] = [offset + len(head), len(value)]
        parts += [head, value]
        offset += len(head) + len(value)
    parts.append(b"}")
    documents.put(RUNS, f"{prefix}/{BUNDLE}", b"".join(parts), JSON)
    documents.put_json(RUNS, f"{prefix}/{INDEX}", {"bundle": BUNDLE, "spans": spans})


def read_department_documents(documents: Documents, prefix: str, departments: list[str]) -> dict[str, Any]:
    """The run's documents of ``departments``, one ranged read of its bundle (or, for a run priced before
    bundles, one read each); FileNotFoundError when the run has no document of one of them."""
    index = _index(documents, prefix)
    if index is None:
        return {d: documents.get_json(RUNS, f"{prefix}/departments/{d}.json") for d in departments}
    spans: dict[str, list[int]] = index["spans"]
    missing = [d for d in departments if d not in spans]
    if missing:
        raise FileNotFoundError(f"{RUNS}/{prefix}: no document of {', '.join(missing)}")
    if not departments:
        return {}
    wanted = {d: spans[d] for d in departments}
    low = min(start for start, _ in wanted.values())
    high = max(start + length for start, length in wanted.values())
    data = documents.get_range(RUNS, f"{prefix}/{index['bundle']}", low, high - low)
    if data is None or len(data) != high - low:
        raise FileNotFoundError(f"{RUNS}/{prefix}/{index['bundle']} is gone or shorter than its index says")
    return {d: json.loads(data[start - low:start - low + length]) for d, (start, length) in wanted.items()}


def _index(documents: Documents, prefix: str) -> dict[str, Any] | None:
    try:
        index = documents.get_json(RUNS, f"{prefix}/{INDEX}")
    except FileNotFoundError:
        return None
    return index if isinstance(index, dict) and isinstance(index.get("spans"), dict) else None
