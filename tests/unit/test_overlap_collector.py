"""overlap.collector_held: no cyclic collection inside, the collector back on only when the last step is out
and only if it was on before."""
from __future__ import annotations

import gc

import pytest

from chargeback.overlap import collector_held


@pytest.fixture
def collector_on():
    before = gc.isenabled()
    gc.enable()
    yield
    if before:
        gc.enable()
    else:
        gc.disable()


def test_off_inside_on_after(collector_on):
    with collector_held():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_no_young_collection_runs_inside(collector_on):
    """Far more container allocations than the young generation's threshold start no collection inside;
    the same outside start some (so the count is a real observation, not a constant)."""
    passes: list[int] = []

    def counted(phase: str, info: dict) -> None:
        if phase == "start":
            passes.append(info["generation"])

    def churn() -> None:
        kept = []
        for n in range(50 * gc.get_threshold()[0]):
            kept.append([n])   # containers: each counts towards the young generation's threshold

    gc.callbacks.append(counted)
    try:
        with collector_held():
            entered = len(passes)   # entering allocates too: a pass may start before the collector is off
            churn()
            inside = len(passes) - entered
        left = len(passes)
        churn()
        outside = len(passes) - left
    finally:
        gc.callbacks.remove(counted)
    assert inside == 0
    assert outside > 0


def test_back_on_after_an_error(collector_on):
    with pytest.raises(RuntimeError), collector_held():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off(collector_on):
    gc.disable()
    with collector_held():
        assert not gc.isenabled()
    assert not gc.isenabled()
