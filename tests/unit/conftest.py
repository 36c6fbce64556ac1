"""Priced months shared by the invoice document tests, computed once per session."""
import pytest

from tests.fixtures.invoice_inputs import generated_month, hand_month


@pytest.fixture(scope="session")
def hand_inputs():
    """(charges, daily rows by department, config) of the hand-worked October."""
    return hand_month()


@pytest.fixture(scope="session")
def generated_inputs():
    """(charges, daily rows by department, config) of a generated month with a platform fee."""
    return generated_month()


@pytest.fixture(scope="session")
def hand(hand_inputs):
    return hand_inputs[0]


@pytest.fixture(scope="session")
def generated(generated_inputs):
    return generated_inputs[0]
