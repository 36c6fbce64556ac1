"""overlap.prompt_switches: a short GIL switch interval inside, the one before put back by the last step out."""
from __future__ import annotations

import sys

import pytest

from chargeback import overlap
from chargeback.overlap import prompt_switches


@pytest.fixture
def interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_inside_the_interval_is_short_and_put_back_after(interval):
    with prompt_switches():
        assert sys.getswitchinterval() == pytest.approx(overlap.SWITCH, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.05)


def test_put_back_after_an_error(interval):
    with pytest.raises(RuntimeError), prompt_switches():
        raise RuntimeError("boom")
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.05)


def test_an_interval_already_shorter_is_kept(interval):
    sys.setswitchinterval(0.0001)
    with prompt_switches():
        assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.05)
