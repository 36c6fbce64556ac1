"""The local stack: a long-lived Azurite under .chargeback/ that CLI commands share.

With CHARGEBACK_STORAGE or AzureWebJobsStorage set, that account is used and nothing is started.
One Azurite per data folder: starting and stopping happen under a lock (two commands started together
on a cold stack start one), and a stack.json that is lost or truncated is rebuilt from the process
that serves the folder, never answered with a second Azurite (which would see none of the data).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from devhost.azurite import Azurite, Ports, connection_string, is_listening, pid_alive

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".chargeback"   # read at each call: tests point it elsewhere


def _state_file() -> Path:
    return STATE_DIR / "stack.json"


def _data_dir() -> Path:
    return STATE_DIR / "azurite"


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """An exclusive lock on the data folder's lock file (released when the process ends, however it ends)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "stack.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state() -> dict | None:
    try:
        state = json.loads(_state_file().read_text())
        Ports(**state["ports"])
        return state if isinstance(state["pid"], int) else None
    except (OSError, ValueError, TypeError, KeyError):
        return _recovered_state()


def _recovered_state() -> dict | None:
    """The Azurite serving our data folder, found by its command line (stack.json missing or broken)."""
    serving = _serving()
    return serving[0] if serving else None


def _serving() -> list[dict]:
    """Every Azurite whose command line names our data folder: pid, ports, location."""
    try:
        listing = subprocess.run(["ps", "-ax", "-ww", "-o", "pid=,command="], capture_output=True, text=True,
                                 timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    location = str(_data_dir())
    found = []
    for line in listing.splitlines():
        pid, _, command = line.strip().partition(" ")
        words = command.split()
        if "azurite" not in command or "--location" not in words or location not in words:
            continue
        try:
            ports = {name: int(words[words.index(f"--{name}Port") + 1]) for name in ("blob", "queue", "table")}
        except (ValueError, IndexError):
            continue
        found.append({"pid": int(pid), "ports": ports, "location": location})
    return found


def _stop_orphans() -> None:
    """With no data folder, an Azurite that names it serves a folder since deleted (a clone removed and made
    again at the same path, or .chargeback/ removed while it ran): none of its data is there, and adopted, it
    answered every blob read with "Incomplete download.". Stop it (as `chargeback stack down` would have) and
    forget its stack.json, so that a new one starts over the new folder."""
    orphans = {orphan["pid"] for orphan in _serving()}
    for pid in orphans:
        with contextlib.suppress(OSError):
            os.kill(pid, 15)
    deadline = time.monotonic() + 15
    # Until they are gone from the listing, so that none is found again below (Azurite stops in well under a second).
    while (left := orphans & {found["pid"] for found in _serving()}) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        raise RuntimeError(f"an Azurite (pid {min(left)}) names {_data_dir()}, which is gone, and did not stop; "
                           "stop it and try again")
    _state_file().unlink(missing_ok=True)


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
    with _locked():
        if not _data_dir().is_dir():
            _stop_orphans()
        current = status()
        if not current["running"]:   # stack.json may name a dead process while another serves the folder
            found = _recovered_state()
            current = {**found, "running": True} if found and pid_alive(found["pid"]) else current
        if current["running"]:
            _write_state(current)   # rebuilds a lost or truncated stack.json
            return current
        if current.get("pid") and pid_alive(current["pid"]):   # alive but not answering: not ours to pile on
            raise RuntimeError(f"an Azurite (pid {current['pid']}) holds {_data_dir()} but does not answer; "
                               "stop it (chargeback stack down) and try again")
        emulator = Azurite(ROOT, location=_data_dir())
        emulator.start(detach=True)
        state = {"pid": emulator.process.pid, "ports": vars(emulator.ports), "location": str(emulator.location)}
        _write_state(state)
        return {**state, "running": True}


def _write_state(state: dict) -> None:
    kept = {k: state[k] for k in ("pid", "ports", "location")}
    temporary = _state_file().with_suffix(".tmp")
    temporary.write_text(json.dumps(kept))
    os.replace(temporary, _state_file())   # atomic: a reader sees the old file or the new one, never half


def down() -> bool:
    """Stop the local Azurite; True if one was running."""
    with _locked():
        state = _read_state()
        if not state:
            return False
        was_running = pid_alive(state["pid"])
        if was_running:
            os.kill(state["pid"], 15)
        _state_file().unlink(missing_ok=True)
        return was_running


def ensure_storage() -> str:
    """Point this process at storage: the configured account, or the local Azurite (started if needed).

    Returns a description safe to print (never the connection string itself).
    """
    global _described  # noqa: PLW0603 - said once per process
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
