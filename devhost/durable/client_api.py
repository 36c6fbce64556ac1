"""The part of the Durable extension's HTTP management API that the product's starters call.

Served on 127.0.0.1 under both the RPC prefix the Python SDK uses (``/durabletask/``) and the
public webhook prefix (``/runtime/webhooks/durabletask/``): start an instance (202; 400 for an
unknown orchestrator, 409 while one runs under that id) and get its status (200 finished, 202
running, 404 unknown), as the extension answers. The other management URLs a check-status
response lists (terminate, purge, rewind, raise event, suspend, resume, restart) and instance
queries answer 501: nothing in the product uses them.
"""
from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from devhost.durable.errors import InstanceAlreadyRunning
from devhost.durable.registry import UnknownFunction

RPC_PREFIX = "/durabletask/"
WEBHOOK_PREFIX = "/runtime/webhooks/durabletask/"
ID_PLACEHOLDER = "INSTANCEID"


class ManagementApi:
    """A threaded HTTP server on a free loopback port answering for one DurableHost."""

    def __init__(self, host, bind: str = "127.0.0.1", port: int = 0):
        self.host = host
        # A key per start, as the extension's system key: in every URL the host hands out (``code=``,
        # and a path segment of the RPC base the SDK calls), required of every request.
        self.key = secrets.token_urlsafe(32)
        self._server = ThreadingHTTPServer((bind, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="durable-api", daemon=True)

    @property
    def origin(self) -> str:
        address, port = self._server.server_address[:2]
        return f"http://{address}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def key_matches(self, code: str | None) -> bool:
        return code is not None and hmac.compare_digest(code.encode(), self.key.encode())

    def binding_json(self, task_hub: str) -> str:
        """The durableClient binding payload, as the extension hands it to the Python worker."""
        base = self.origin + WEBHOOK_PREFIX.rstrip("/")
        hub = f"taskHub={task_hub}&connection=Storage&code={self.key}"
        return json.dumps({
            "taskHubName": task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?{hub}",
                "createAndWaitOnNewInstancePostUri":
                    f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}&{hub}",
            },
            "managementUrls": self.management_urls(ID_PLACEHOLDER, task_hub),
            "baseUrl": base,
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": f"{self.origin}{RPC_PREFIX}{self.key}/",
        })

    def management_urls(self, instance_id: str, task_hub: str = "DevHostHub") -> dict:
        base = f"{self.origin}{WEBHOOK_PREFIX}instances/{instance_id}"
        hub = f"taskHub={task_hub}&connection=Storage&code={self.key}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{hub}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{hub}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{hub}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{hub}",
            "purgeHistoryDeleteUri": f"{base}?{hub}",
            "restartPostUri": f"{base}/restart?{hub}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{hub}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{hub}",
        }

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict, object]:
        """Answer one management request: (status code, extra headers, JSON-able body)."""
        parts = [unquote(p) for p in path.split("/") if p]
        try:
            if method == "POST" and parts[:1] == ["orchestrators"] and len(parts) in (2, 3):
                return self._start(parts[1], parts[2] if len(parts) == 3 else None, body)
            if parts[:1] == ["instances"]:
                return self._instances(method, parts[1:], query)
        except UnknownFunction as error:
            return 400, {}, {"Message": "One or more of the arguments submitted is incorrect",
                             "ExceptionMessage": str(error)}
        except (InstanceAlreadyRunning, ValueError) as error:
            status = 409 if isinstance(error, InstanceAlreadyRunning) else 400
            return status, {}, {"Message": str(error), "ExceptionMessage": str(error)}
        return 501, {}, {"Message": f"{method} /{'/'.join(parts)} is not supported by the local durable host"}

    def _start(self, name: str, instance_id: str | None, body: bytes) -> tuple[int, dict, object]:
        instance_id = self.host.start_new_json(name, instance_id, _input_json(body))
        urls = self.management_urls(instance_id)
        return 202, {"Location": urls["statusQueryGetUri"]}, urls

    def _instances(self, method: str, rest: list[str], query: dict[str, str]) -> tuple[int, dict, object]:
        if method == "GET" and len(rest) == 1:
            instance_id = rest[0]
            status = self.host.get_status(instance_id)
            if status is None:
                return 404, {}, f"No instance with ID '{instance_id}' found."
            running = status["runtimeStatus"] in ("Pending", "Running")
            headers = {"Location": self.management_urls(instance_id)["statusQueryGetUri"]} if running else {}
            return (202 if running else 200), headers, status
        return 501, {}, {"Message": f"{method} instances/{'/'.join(rest)} is not supported by the local durable host"}


def _input_json(body: bytes) -> str | None:
    """The orchestration input as JSON text.

    The Python client posts ``json=df_dumps(input)``, i.e. a JSON string holding the JSON text;
    other callers post the JSON value itself. Both become the same input.
    """
    if not body.strip():
        return None
    value = json.loads(body)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):   # a plain string input stays that string
            value = json.loads(value)
    return json.dumps(value)


def _handler_for(api: ManagementApi):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            for prefix in (f"{RPC_PREFIX}{api.key}/", WEBHOOK_PREFIX):
                if url.path.startswith(prefix):
                    if prefix == WEBHOOK_PREFIX and not api.key_matches(query.get("code")):
                        code, headers, body = 401, {}, {"Message": "the management API needs this host's key"}
                        break
                    length = (self.headers.get("Content-Length") or "0").strip()
                    if not length.isdigit():   # -1 would read until the client hangs up
                        code, headers, body = 400, {}, {"Message": "Content-Length must be a whole number"}
                        break
                    code, headers, body = api.handle(self.command, url.path[len(prefix):], query,
                                                     self.rfile.read(int(length)))
                    break
            else:
                code, headers, body = 404, {}, {"Message": "not a durable management route"}
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve  # noqa: N815 - the names http.server dispatches to

        def log_message(self, format, *args):  # keep test output clean; requests are not secrets but noisy
            pass

    return Handler
