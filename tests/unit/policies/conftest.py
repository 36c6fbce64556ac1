"""The policy harness, compiled once per session (skipped, or failed in CI, without mono)."""
from __future__ import annotations

import pytest

from tests.conftest import require_tool
from tests.unit.policies.harness import MCS, MONO, NEWTONSOFT, build_runner


@pytest.fixture(scope="session")
def policy_runner(tmp_path_factory):
    require_tool(bool(MCS and MONO and NEWTONSOFT),
                 "mono's C# compiler and Json.NET (mono-mcs libnewtonsoft-json5.0-cil)")
    return build_runner(tmp_path_factory.mktemp("policy"))
