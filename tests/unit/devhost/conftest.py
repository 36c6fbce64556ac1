"""The generated months the generator's tests read (each built once: generated.py caches them)."""
import pytest

from tests.unit.devhost.generated import v1_month, v2_month


@pytest.fixture(scope="module")
def v2():
    """A v2 month: 20,000 events of six departments."""
    return v2_month()


@pytest.fixture(scope="module")
def v1():
    """A seed-format (v1) month: 8,000 events of five departments."""
    return v1_month()
