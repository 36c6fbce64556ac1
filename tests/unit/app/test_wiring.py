"""Settings are read once, in one place, never at import time; the local host changes them through the wiring."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chargeback.settings import settings
from chargeback.wiring import configure, configured, reset_services, services

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ["chargeback", "ingest", "orchestrations", "activities", "reports", "devhost"]


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setenv("CHARGEBACK_TABLE_PREFIX", "fromenv")
    monkeypatch.setenv("CHARGEBACK_SMTP_PORT", "25")
    reset_services()
    yield
    reset_services()


def test_configure_changes_the_process_settings_and_leaves_the_environment_alone():
    before = services()
    configure(table_prefix="t1", local_auth="loopback")
    assert services() is not before
    assert services().settings.table_prefix == "t1" and settings().table_prefix == "t1"
    assert services().settings.local_auth == "loopback"
    assert os.environ["CHARGEBACK_TABLE_PREFIX"] == "fromenv" and "CHARGEBACK_LOCAL_AUTH" not in os.environ


def test_changes_add_up_and_a_reset_reads_the_environment_again(monkeypatch):
    configure(local_auth="loopback")
    configure(smtp_port=2525)
    assert (settings().local_auth, settings().smtp_port, settings().table_prefix) == ("loopback", 2525, "fromenv")
    monkeypatch.setenv("CHARGEBACK_TABLE_PREFIX", "later")
    assert settings().table_prefix == "fromenv"   # read once: a changed environment is not seen ...
    reset_services()
    assert (settings().table_prefix, settings().local_auth, settings().smtp_port) == ("later", "", 25)   # ... until


def test_configured_lasts_for_its_block():
    outer = services()
    with configured(table_prefix="bench") as inner:
        assert inner is services() and inner.settings.table_prefix == "bench"
    assert services() is outer and settings().table_prefix == "fromenv"


def test_an_unknown_setting_is_refused():
    with pytest.raises(TypeError):
        configure(table_prefx="typo")


def test_importing_the_product_reads_no_setting():
    # A setting that cannot be parsed: reading the settings raises, so an import that read them would fail.
    # function_app.py is left out on purpose: it configures telemetry when the Functions worker loads it.
    modules = ["chargeback.wiring", "chargeback.workflow.invoicing", "chargeback.workflow.notifying",
               "chargeback.workflow.ingesting", "chargeback.usage.events", "chargeback.owners.portal",
               "chargeback.notices.channels", "ingest", "orchestrations", "activities", "reports", "devhost.cli"]
    env = {**os.environ, "CHARGEBACK_MAX_COUNT_PER_CALL": "not-a-number", "CHARGEBACK_SMTP_PORT": "x"}
    code = f"import importlib\nfor m in {modules!r}:\n    importlib.import_module(m)\n" \
           "from chargeback.settings import settings\ntry:\n    settings()\nexcept ValueError:\n    print('unreadable')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unreadable"   # the control: reading them does fail


def _environment_reads(path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv", "unsetenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
    return lines


# Not product settings: how the command line draws on a terminal (like NO_COLOR), read when it draws.
TERMINAL_PREFERENCES = {"devhost/output.py"}


def test_only_the_settings_module_touches_the_environment():
    found = {str(p.relative_to(ROOT)): _environment_reads(p)
             for package in PRODUCT for p in sorted((ROOT / package).rglob("*.py"))}
    found["function_app.py"] = _environment_reads(ROOT / "function_app.py")
    assert found.pop("chargeback/settings.py")   # the one reader (the control: the check sees it)
    assert {path: lines for path, lines in found.items() if lines and path not in TERMINAL_PREFERENCES} == {}
