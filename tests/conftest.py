"""Session-wide fixtures: one real Azurite on free ports, started and stopped by the tests."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devhost.azurite import Azurite

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def azurite():
    """A real Azurite (in memory) for the whole session; yields the running emulator."""
    with Azurite(ROOT) as emulator:
        yield emulator


@pytest.fixture
def storage(azurite):
    """Connection string plus a table/container-name prefix unique to this test."""
    return StorageUnderTest(azurite.connection_string, "t" + uuid.uuid4().hex[:10])


class StorageUnderTest:
    def __init__(self, connection_string: str, prefix: str):
        self.connection_string = connection_string
        self.prefix = prefix


@pytest.fixture
def app_services(storage, monkeypatch):
    """The product's services wired to this test's tables in the session Azurite."""
    from chargeback.wiring import reset_services, services

    monkeypatch.setenv("CHARGEBACK_STORAGE", storage.connection_string)
    monkeypatch.setenv("CHARGEBACK_TABLE_PREFIX", storage.prefix)
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    reset_services()
    yield services()
    reset_services()


def require_tool(available: bool, what: str) -> None:
    """Skip when a system tool is missing on a developer box; fail in CI (CHARGEBACK_REQUIRE_SYSTEM_TOOLS=1)."""
    import os
    if available:
        return
    message = f"needs {what} (make test installs it: scripts/system-deps.sh)"
    if os.environ.get("CHARGEBACK_REQUIRE_SYSTEM_TOOLS"):
        pytest.fail(message)
    pytest.skip(message)


_TIERS = ("integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the tier folder it lives in, so ``-m "not integration and not e2e"`` is the unit tier."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in _TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
