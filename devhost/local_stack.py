"""The local stack: a long-lived Azurite under .chargeback/ that CLI commands share.

With CHARGEBACK_STORAGE or AzureWebJobsStorage set, that account is used and nothing is started.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from devhost.azurite import Azurite, Ports, connection_string, is_listening, pid_alive

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".chargeback"
STATE_FILE = STATE_DIR / "stack.json"


def _read_state() -> dict | None:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def status() -> dict:
    """What is running: {'running': bool, 'pid', 'ports', 'location'}."""
    state = _read_state()
    if not state:
        return {"running": False}
    ports = Ports(**state["ports"])
    running = pid_alive(state["pid"]) and all(is_listening(p) for p in (ports.blob, ports.queue, ports.table))
    return {**state, "running": running}


def up() -> dict:
    """Start Azurite (data kept under .chargeback/azurite) unless it already runs; return its status."""
    current = status()
    if current["running"]:
        return current
    emulator = Azurite(ROOT, location=STATE_DIR / "azurite")
    emulator.start(detach=True)
    state = {"pid": emulator.process.pid, "ports": vars(emulator.ports), "location": str(emulator.location)}
    STATE_DIR.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps(state))
    return {**state, "running": True}


def down() -> bool:
    """Stop the local Azurite; True if one was running."""
    state = _read_state()
    if not state:
        return False
    was_running = pid_alive(state["pid"])
    if was_running:
        os.kill(state["pid"], 15)
    STATE_FILE.unlink(missing_ok=True)
    return was_running


def ensure_storage() -> str:
    """Point this process at storage: the configured account, or the local Azurite (started if needed).

    Returns a description safe to print (never the connection string itself).
    """
    global _described
    if _described:
        return _described
    from chargeback.wiring import configure, services
    configured = services().settings
    if configured.storage_connection:   # CHARGEBACK_STORAGE, or AzureWebJobsStorage as a connection string
        _described = "the configured storage account (connection string)"
        return _described
    if configured.table_endpoint or configured.blob_endpoint:
        # endpoints mean a real account and the signed-in identity: never fall back to the local stack
        _described = services().account.describe()
        return _described
    state = up()
    configure(storage_connection=connection_string(Ports(**state["ports"])))
    _described = f"local Azurite (pid {state['pid']}, table port {state['ports']['table']}, data in .chargeback/)"
    return _described


_described = ""
