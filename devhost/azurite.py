"""The Azure Storage emulator (Azurite, from npm): start, stop and address it.

Used by the local stack (`chargeback stack up`) and by the test fixtures. Azurite's
account key is the emulator's published well-known key, not a secret.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ACCOUNT = "devstoreaccount1"
WELL_KNOWN_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
FLAGS = ["--skipApiVersionCheck", "--disableTelemetry", "--loose", "--silent"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def azurite_binary(project_root: Path) -> Path:
    path = project_root / "node_modules" / ".bin" / "azurite"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `npm ci` (make does this for you)")
    return path


@dataclass
class Ports:
    blob: int
    queue: int
    table: int

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port())


def connection_string(ports: Ports, host: str = "127.0.0.1") -> str:
    base = f"http://{host}"
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={WELL_KNOWN_KEY};"
        f"BlobEndpoint={base}:{ports.blob}/{ACCOUNT};"
        f"QueueEndpoint={base}:{ports.queue}/{ACCOUNT};"
        f"TableEndpoint={base}:{ports.table}/{ACCOUNT};"
    )


class Azurite:
    """One Azurite process; in memory unless given a ``location`` to persist to."""

    def __init__(self, project_root: Path, ports: Ports | None = None, location: Path | None = None):
        self.project_root = project_root
        self.ports = ports or Ports.free()
        self.location = location
        self.process: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.ports)

    def command(self) -> list[str]:
        cmd = [str(azurite_binary(self.project_root)),
               "--blobHost", "127.0.0.1", "--blobPort", str(self.ports.blob),
               "--queueHost", "127.0.0.1", "--queuePort", str(self.ports.queue),
               "--tableHost", "127.0.0.1", "--tablePort", str(self.ports.table), *FLAGS]
        if self.location is None:
            cmd.append("--inMemoryPersistence")
        else:
            self.location.mkdir(parents=True, exist_ok=True)
            cmd += ["--location", str(self.location)]
        return cmd

    def start(self, timeout: float = 60.0, detach: bool = False) -> Azurite:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL, start_new_session=detach,
        )
        wait_until_listening(self.ports, timeout, self.process)
        return self

    def stop(self) -> None:
        process = self.process  # local: another thread may start a new process meanwhile
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self.process is process:
            self.process = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def is_listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until_listening(ports: Ports, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"azurite exited with code {process.returncode} before listening")
        if all(is_listening(p) for p in (ports.blob, ports.queue, ports.table)):
            return
        time.sleep(0.1)
    raise TimeoutError(f"azurite did not listen on {ports} within {timeout:.0f}s")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
