"""A loopback TCP proxy for benchmarks and tests: adds latency each way, or resets one $batch request.

``LoopbackProxy(upstream_port, delay=0.005)`` forwards 127.0.0.1:<port> to the upstream port, holding every
chunk ``delay`` seconds in each direction (a network round trip without a network). ``reset_batches=1``
answers the first request that is a ``POST .../$batch`` with a TCP reset (SO_LINGER 0) instead of
forwarding it: the connection error the SDK must retry.
"""
from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from types import TracebackType


class LoopbackProxy:
    def __init__(self, upstream_port: int, delay: float = 0.0, reset_batches: int = 0):
        self.upstream_port, self.delay, self.resets_left = upstream_port, delay, reset_batches
        self.resets_done = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, name="loopback-proxy", daemon=True)

    def __enter__(self) -> LoopbackProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stopping = True
        self._server.close()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _take_reset(self, chunk: bytes) -> bool:
        if not (chunk.startswith(b"POST ") and b"$batch" in chunk.split(b"\r\n", 1)[0]):
            return False
        with self._lock:
            if self.resets_left <= 0:
                return False
            self.resets_left -= 1
            self.resets_done += 1
            return True

    def _pump(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        try:
            while chunk := source.recv(1 << 16):
                if requests and self._take_reset(chunk):
                    _reset(source)
                    _reset(target)
                    return
                if self.delay:
                    time.sleep(self.delay)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (linger on, timeout 0) rather than a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
