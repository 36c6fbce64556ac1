"""A local outbox: a tiny SMTP server (aiosmtpd, a dev dependency) that keeps each message as an .eml file.

``make run`` points CHARGEBACK_SMTP_HOST/PORT at it so notices can be read without a mail server;
the tests use it as the real SMTP server that receives them.
"""
from __future__ import annotations

import itertools
import os
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


class _AnyPortController(Controller):
    # aiosmtpd connects to its own port to check that it started; with port 0 it must learn the real one first.
    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _KeepAsFile:
    def __init__(self, directory: Path):
        self.directory = directory
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - the name aiosmtpd calls
        with self._lock:
            number = next(self._numbers)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        final = self.directory / f"{stamp}-{number:04d}.eml"
        partial = final.with_suffix(".part")
        data = envelope.original_content or envelope.content
        partial.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        os.replace(partial, final)   # a reader never sees half a message
        return "250 Message accepted for delivery"


class LocalOutbox:
    """``LocalOutbox(directory).start() -> (host, port)``; ``.stop()``; ``.messages()`` parses what arrived."""

    def __init__(self, directory: Path | str, host: str = "127.0.0.1", port: int = 0):
        self.directory = Path(directory)
        self._controller = _AnyPortController(_KeepAsFile(self.directory), hostname=host, port=port)

    def start(self) -> tuple[str, int]:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self._controller.hostname, self._controller.port

    def stop(self) -> None:
        self._controller.stop()

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"))

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in self.files()]

    def __enter__(self) -> LocalOutbox:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
