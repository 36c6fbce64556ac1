"""Serve the Function App's HTTP functions locally, as the Functions host would route them."""
from __future__ import annotations

import asyncio
import inspect
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from devhost.functions import function_index

ROUTE_PREFIX = "/api/"
WEBHOOK_PREFIX = "/runtime/webhooks/durabletask/"


@dataclass
class HttpFunction:
    name: str
    methods: set[str]
    pattern: re.Pattern
    trigger_arg: str
    client_arg: str | None
    call: Callable


def _route_pattern(route: str) -> re.Pattern:
    # "invoices/{month}/{department}" -> named groups; a parameter never spans a "/".
    regex = re.sub(r"\{(\w+)(?::[^}]*)?\??\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", route.strip("/"))
    return re.compile(f"^{regex}$")


def http_functions(app_module: str = "function_app") -> list[HttpFunction]:
    found = []
    for name, function in function_index(app_module).items():
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        bindings = json.loads(function.get_function_json())["bindings"]
        spec = next(b for b in bindings if b["type"] == "httpTrigger")
        client = next((b["name"] for b in bindings if b["type"] == "durableClient"), None)
        methods = {m.upper() for m in (spec.get("methods") or ["GET", "POST"])}
        found.append(HttpFunction(name, methods, _route_pattern(spec.get("route") or name), spec["name"], client,
                                  function.get_user_function()))
    # Literal segments before parameters: "portal" must win over "{month}".
    return sorted(found, key=lambda f: f.pattern.pattern.count("(?P<"))


class _EventLoopThread:
    """One long-lived event loop for async functions: the Durable SDK keeps one aiohttp session per
    process, bound to the loop that first used it, so a loop per request would break the second call."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="local-http-async").start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


_process_loop: _EventLoopThread | None = None
_process_loop_lock = threading.Lock()


def process_event_loop() -> _EventLoopThread:
    """The one loop of this process (shared by every LocalHttpHost, like the Python worker's)."""
    global _process_loop  # noqa: PLW0603 - one loop per process, created on first use
    with _process_loop_lock:
        if _process_loop is None:
            _process_loop = _EventLoopThread()
        return _process_loop


class LocalHttpHost:
    """Route requests to the HTTP functions; durable client bindings come from ``client_binding``.

    ``management`` answers the Durable status URLs (``/runtime/webhooks/durabletask/...``) that
    ``create_check_status_response`` points at this host.
    """

    def __init__(self, client_binding: Callable[[], str] | None = None, management=None,
                 app_module: str = "function_app"):
        self.functions = http_functions(app_module)
        self.client_binding = client_binding
        self.management = management
        self._async = process_event_loop()

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes) -> func.HttpResponse:
        parts = urlsplit(url)
        if parts.path.startswith(WEBHOOK_PREFIX) and self.management is not None:
            api, query = self.management(), dict(parse_qsl(parts.query))
            if not (api.key_matches(query.get("code")) or _is_admin(headers)):
                # As in Azure, where these routes need the system key: they start and show every run.
                doc = {"Message": "the durable management routes need the admin identity or this host's key "
                                  "(the code= in the status URLs a run's start answered)"}
                return func.HttpResponse(json.dumps(doc), status_code=401, mimetype="application/json")
            code, extra, doc = api.handle(method.upper(), parts.path[len(WEBHOOK_PREFIX):], query, body)
            return func.HttpResponse(json.dumps(doc), status_code=code, headers=extra, mimetype="application/json")
        if not parts.path.startswith(ROUTE_PREFIX):
            return func.HttpResponse("not found", status_code=404)
        path = parts.path[len(ROUTE_PREFIX):].strip("/")
        allowed = False
        for fn in self.functions:
            match = fn.pattern.match(path)
            if not match:
                continue
            if method.upper() not in fn.methods:
                allowed = True
                continue
            request = func.HttpRequest(method=method.upper(), url=url, headers=headers,
                                       params=dict(parse_qsl(parts.query)), route_params=match.groupdict(),
                                       body=body)
            kwargs = {fn.trigger_arg: request}
            if fn.client_arg:
                if self.client_binding is None:
                    return func.HttpResponse("durable client not available", status_code=503)
                kwargs[fn.client_arg] = self.client_binding()
            result = fn.call(**kwargs)
            return self._async.run(result) if inspect.iscoroutine(result) else result
        return func.HttpResponse("method not allowed" if allowed else "not found",
                                 status_code=405 if allowed else 404)


def _is_admin(headers: dict[str, str]) -> bool:
    """Whether the request carries a trusted principal that is an admin of the current config."""
    from chargeback.errors import ChargebackError
    from chargeback.owners.identity import is_admin, principal_from_headers
    from chargeback.wiring import services
    try:
        s = services()
        principal = principal_from_headers(headers, s.settings)
        config = s.config.current()
    except ChargebackError:
        return False
    return config is not None and is_admin(principal, config.admins)


MAX_BODY = 10 * 1024 * 1024   # nothing the product accepts comes near; the Functions host caps at 100 MB


def make_server(host: LocalHttpHost, bind: str = "127.0.0.1", port: int = 7071) -> ThreadingHTTPServer:
    guard = RequestGuard(bind)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            refused = guard.refusal(self.command, dict(self.headers.items()), self.server.server_address[1])
            length = _content_length(self.headers.get("Content-Length"))
            if refused is None and length is None:
                refused = func.HttpResponse("Content-Length must be a whole number of bytes", status_code=400)
            if refused is None and length > MAX_BODY:
                refused = func.HttpResponse(f"a request body is at most {MAX_BODY} bytes", status_code=413)
            if refused is not None:
                self.close_connection = True   # the body (if any) was not read: never parse it as a request
                self._answer(refused)
                return
            body = self.rfile.read(length) if length else b""
            url = f"http://{self.headers.get('Host', f'{bind}:{port}')}{self.path}"
            try:
                response = host.handle(self.command, url, dict(self.headers.items()), body)
            except Exception as exc:  # the Functions host answers 500 and logs; so do we
                response = func.HttpResponse(f"internal error: {type(exc).__name__}", status_code=500)
            self._answer(response)

        def _answer(self, response: func.HttpResponse) -> None:
            data = response.get_body() or b""
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() not in ("content-length", "content-type"):
                    self.send_header(key, value)
            self.send_header("Content-Type", response.mimetype or "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - the names http.server dispatches to

        def log_message(self, fmt, *args):  # quiet: the CLI prints what matters
            pass

    return ThreadingHTTPServer((bind, port), Handler)


def _content_length(value: str | None) -> int | None:
    """The declared body length; None when it is not a plain non-negative number (-1, 1e3, 0x10)."""
    if value is None or not value.strip():
        return 0
    text = value.strip()
    return int(text) if text.isdigit() and text.isascii() else None


_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RequestGuard:
    """What a browser on another site could make this server do: refused before any function runs.

    Host must name this server (DNS rebinding points another name at 127.0.0.1 and then reads the
    answers as same-origin); a request that changes something (POST ...) must not come from another
    site: ``Sec-Fetch-Site`` (Fetch Metadata) or, from older browsers, ``Origin`` says where it came from.
    """

    def __init__(self, bind: str):
        # Bound to every address (only allowed when every route authenticates), names are unknowable.
        self.any_host = bind in ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound
        self.names = {n.lower() for n in (bind if ":" not in bind else f"[{bind}]", *_LOOPBACK_NAMES)}

    def refusal(self, method: str, headers: dict[str, str], port: int) -> func.HttpResponse | None:
        lower = {k.lower(): v for k, v in headers.items()}
        allowed = {f"{name}:{port}" for name in self.names}
        if not self.any_host and (lower.get("host") or "").strip().lower() not in allowed:
            return func.HttpResponse("unexpected Host header: this server answers as "
                                     + " or ".join(sorted(allowed)), status_code=421)
        if method.upper() in _SAFE_METHODS:
            return None
        site = (lower.get("sec-fetch-site") or "").strip().lower()
        if site and site not in ("same-origin", "none"):
            return func.HttpResponse("cross-site requests may not change anything here", status_code=403)
        origin = (lower.get("origin") or "").strip().lower()
        if origin and origin != f"http://{(lower.get('host') or '').strip().lower()}":
            return func.HttpResponse("cross-origin requests may not change anything here", status_code=403)
        return None


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="local-http-host")
    thread.start()
    return thread
