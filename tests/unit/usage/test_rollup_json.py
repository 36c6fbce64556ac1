"""The rollup documents' JSON (chargeback/storage/rollup_parts.dumps / loads, msgspec): what they write the
standard library reads as the same document, and what the standard library wrote before (``json.dumps``
with ASCII escapes) they read as the same document."""
from __future__ import annotations

import json
import zlib

import pytest

from chargeback.storage.rollup_parts import dumps, loads

DOCUMENTS = [
    {"format": 2, "usage": {"month": "2026-10", "groups": [["sub-ü", "gpt-4o", "m", 3, 2**70, 0, "1.250"]]}},
    {"department": "Zoë's \"team\"\n", "cells": [["dep\u2028", "input", "2026-10-01", "12", "0.01"]],
     "total": "-0.00", "nested": {"empty": [], "none": None, "flag": True, "big": -(2**64) - 1}},
    {"text": "tab\tcontrol\x01 backslash\\ slash/ emoji \U0001f4b8 surrogate-free"},
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_what_dumps_writes_the_standard_library_reads_alike(document):
    assert json.loads(dumps(document)) == document


@pytest.mark.parametrize("document", DOCUMENTS)
def test_what_json_dumps_wrote_before_is_read_alike(document):
    for earlier in (json.dumps(document), json.dumps(document, separators=(",", ":")),
                    json.dumps(document, ensure_ascii=False)):
        assert loads(zlib.compress(earlier.encode("utf-8"))) == document


def test_dumps_is_compact_utf8():
    assert dumps({"a": [1, "ü"], "b": {}}) == '{"a":[1,"ü"],"b":{}}'.encode()


def test_a_damaged_document_is_a_value_error():
    with pytest.raises(ValueError, match="truncated"):
        loads(zlib.compress(b'{"format": 2, "usage": '))
