"""The parser's fast paths against its plain ones: msgspec's decoder against the standard library's (which is
the contract), the text fields read by ``map`` against the field-by-field reader, on generated months and on
hostile variants of their events."""
from __future__ import annotations

import json
import random
from dataclasses import fields
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.errors import InvalidEvent
from chargeback.usage import events
from chargeback.usage.events import RawEvent, parse_event
from chargeback.usage.meters import FIELDS, MeterQuantities
from devhost.generate.month import generate_month

ODD_VALUES = [None, "", "  padded  ", -1, 0, 1.5, "12", True, [], {}, ["a=b"], "x" * 300, 10**20, 1e300, -0.0,
              "2026-10-05T10:00:00.1234567+02:00", {"prompt_tokens": 5}, {"cached_tokens": 3}]


def _months() -> list[bytes]:
    bodies = []
    for fmt in ("v2", "v1"):
        month = generate_month("2026-10", departments=3, events=1500, fmt=fmt, seed=3, bad_events=60)
        bodies += [line.encode() for line in month.lines]
    return bodies


def _hostile(bodies: list[bytes], count: int) -> list[bytes]:
    """Events with one field (top level or inside ``usage``) replaced by an odd value or removed."""
    rnd, out = random.Random(9), []
    docs = [d for d in map(_loads, bodies) if isinstance(d, dict)]
    for doc in rnd.sample(docs, count):
        target = doc["usage"] if isinstance(doc.get("usage"), dict) and rnd.random() < 0.4 else doc
        key = rnd.choice(sorted(target))
        value = rnd.choice([*ODD_VALUES, "remove"])
        changed = {k: v for k, v in target.items() if k != key or value != "remove"}
        if value != "remove":
            changed[key] = value
        out.append(json.dumps({**doc, "usage": changed} if target is not doc else changed).encode())
    return out


def _loads(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _outcome(body: bytes) -> str:
    try:
        return "record " + repr(parse_event(RawEvent(body, "2", 5)))
    except InvalidEvent as exc:
        return "dead " + str(exc)


@pytest.fixture(scope="module")
def corpus() -> list[bytes]:
    bodies = _months()
    return bodies + _hostile(bodies, 1500)


def _refuse(text: str) -> object:
    raise ValueError("fast path off")


def test_records_and_reasons_are_the_same_with_the_fast_decoder_off(corpus, monkeypatch):
    fast = [_outcome(body) for body in corpus]
    monkeypatch.setattr(events, "_fast_decode", _refuse)
    plain = [_outcome(body) for body in corpus]
    assert fast == plain
    kinds = {o.split(" ")[0] for o in fast}
    assert kinds == {"record", "dead"} and sum(o.startswith("record") for o in fast) > 3000


def _reading(read, doc) -> list[str] | str:
    try:
        return read(doc)
    except InvalidEvent as exc:
        return f"refused: {exc}"


def test_text_fields_by_map_are_the_field_by_field_reading(corpus):
    docs = [d for d in map(_loads, corpus) if isinstance(d, dict)]
    def plain(doc):
        return [events._optional_text(doc, f) for f in events._V2_TEXTS]
    readings = [(_reading(events._texts, doc), _reading(plain, doc)) for doc in docs]
    assert [fast for fast, _ in readings] == [slow for _, slow in readings]
    assert sum(isinstance(fast, list) for fast, _ in readings) > 3000
    assert sum(isinstance(fast, str) for fast, _ in readings) > 20   # the hostile ones are refused alike


@pytest.mark.parametrize("text", [
    '{"a": NaN}', '{"a": Infinity}', '{"a": "\\ud800"}', "[" * 3000 + "]" * 3000, '{"a": 1} x', '{"a": 1,}',
    '{"a": 1, "a": 2}', '{"a": 1e400}', '{"a": 123456789012345678901234567890}', '{"a": -0.0}', ' {"a": 1}\n',
])
def test_the_fast_decoder_reads_alike_or_refuses(text):
    """Where msgspec reads a text, it reads what the standard decoder reads; where it refuses, the standard
    decoder decides (NaN and lone surrogates it accepts, trailing data it refuses)."""
    try:
        fast = events._fast_decode(text)
    except (ValueError, RecursionError):
        return
    assert _same(fast, events._decode(text))


json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
).map(json.dumps)
mangled = st.text(alphabet='{}[]":,0123456789.eE+- \tnulltruefalse\\uN', max_size=30)


@settings(max_examples=400, deadline=None)
@given(json_text | mangled)
def test_the_fast_decoder_agrees_with_the_standard_one_on_what_it_accepts(text):
    try:
        fast = events._fast_decode(text)
    except (ValueError, RecursionError):
        return
    assert _same(fast, events._decode(text))


def _same(a: object, b: object) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True would hide a difference)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)   # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))   # type: ignore[arg-type]
    if isinstance(a, Decimal):
        return str(a) == str(b)   # the wire's digits, exactly
    return a == b


def test_meter_fields_are_the_quantities_in_order():
    """MeterQuantities sets its slots by FIELDS' order: the two must be the same list."""
    assert tuple(f.name for f in fields(MeterQuantities)) == FIELDS
    values = tuple(range(1, len(FIELDS) + 1))
    assert MeterQuantities(*values).values() == values
    assert MeterQuantities(**dict(zip(FIELDS, values, strict=True))).values() == values
