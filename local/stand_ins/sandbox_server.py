"""The HTTP machinery both sandbox APIs share: a threaded keep-alive server, injectable latency,
per-request fault scripts, and a log of every API request received.

Control routes (never logged as API requests), from the table CONTROL_ROUTES (each API may add
its own: the sales API's PUT /__sandbox/pagination); GET /__sandbox/ lists them with a curl
command for each:
  POST   /__sandbox/reset       back to the seed: no faults, latency or stored idempotency keys,
                                an empty request log, the rate limit as configured at start
  PUT    /__sandbox/latency     {"seconds": 0.2}: API requests the rate limit lets through wait
                                this long before they are answered
  POST   /__sandbox/faults      {"email": optional, "steps": [...]}: appends a script
  PUT    /__sandbox/outage      {"seconds": 20, "status": 503}: every API request fails for that
                                long (local/stand_ins/sandbox_outage.py); GET says how long is left
  GET    /__sandbox/requests    the request log, oldest first; DELETE clears it
  GET    /__sandbox/rate-limit  the limiter's settings and counts; PUT changes settings, e.g.
                                {"enabled": true, "limit": 20, "window_seconds": 1}

An API request is routed (unknown routes are answered at once), plays its fault step if one
applies, and otherwise goes through the API's own pipeline (`serve`): the rate limiter first, as
both APIs' gateways do, then the injected latency, authorization and the answer.

Each API request plays the next step of the first script for its email (case-insensitive), or
else of the first global script (no email); with no steps left the API behaves normally. Steps:
  {"status": 503, "headers": {...}, "body": {...} or "text"}   that answer instead
  {"delay": 2.5}        wait, then answer (normally, unless the step also says otherwise)
  {"reset": true}       close the connection with a TCP RST, without answering
  {"truncate": true}    a 200 whose Content-Length promises more than is sent, then close
  {"non_json": true}    a 200 text/html page
  {"pass": true}        answer normally (spaces out the faults of a long script)
With "page": n a step waits for a request for page n or later (one with a cursor); requests it
does not apply to are answered normally and leave it in place.
"""

from __future__ import annotations

import json
import shlex
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, ClassVar

from email_validator import EmailNotValidError, validate_email

from local.stand_ins.sandbox_outage import Outage
from local.stand_ins.sandbox_rate_limit import RateLimitSettings, SlidingWindowLimiter

CONTROL_PREFIX = "/__sandbox/"
_MAX_LINE = 65536
_MAX_HEADERS = 100
_MAX_BODY = 10 * 1024 * 1024
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_UNPARSED = object()
_NOT_JSON = object()


@lru_cache(maxsize=4096)
def is_email(address: str) -> bool:
    """Both APIs validate addresses; cached because benchmarks send the same ones thousands of
    times and validation costs more than the rest of a request."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@dataclass
class ApiRequest:
    method: str
    path: str  # raw, query string included: what the client really sent
    headers: dict[str, str]  # lower-case names
    body: bytes
    client: str = "127.0.0.1"  # the peer's address: what the rate limit counts by
    email: str | None = None  # filled in by the API's route()
    page: int = 1
    authorized: bool = False
    received_at: float = field(default_factory=time.time)
    generation: int = 0  # which reset it arrived after: one from before is left out of the log
    _parsed: Any = field(default=_UNPARSED, repr=False)

    def json(self) -> Any:
        """The body as JSON, parsed once; ValueError when it is not JSON."""
        if self._parsed is _UNPARSED:
            try:
                self._parsed = json.loads(self.body)
            except ValueError:
                self._parsed = _NOT_JSON
        if self._parsed is _NOT_JSON:
            raise ValueError("the body is not JSON")
        return self._parsed

    def json_or_none(self) -> Any:
        try:
            return self.json() if self.body else None
        except ValueError:
            return None


@dataclass
class ApiResponse:
    status: int
    body: Any = None  # JSON-serialisable; bytes and str are sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


def error(status: int, code: str, message: str) -> ApiResponse:
    """The smallest error envelope; each API's `error` builds its own full one."""
    return ApiResponse(status, {"error": {"code": code, "message": message}})


@dataclass(frozen=True)
class ControlRoute:
    """One /__sandbox/<name> route: what it runs, and how the index at /__sandbox/ explains it."""

    method: str
    name: str
    summary: str
    # (sandbox, JSON body or {}) → the answer; None answers {"ok": true}. ValueError, KeyError,
    # TypeError and AttributeError answer 400: the body was not what the route takes.
    run: Callable[[SandboxServer, Any], ApiResponse | None]
    examples: tuple[tuple[str, Any], ...] = ()  # (what it does, the JSON body to send)
    details: str = ""


def _add_faults(sandbox: SandboxServer, data: Any) -> None:
    steps = data["steps"]
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise TypeError("steps must be a list of objects")
    sandbox.add_faults(steps, data.get("email"))


def _configure_rate_limit(sandbox: SandboxServer, data: Any) -> ApiResponse:
    sandbox.rate_limiter.configure(data)
    return ApiResponse(200, sandbox.rate_limiter.state())


# Each sandbox serves its class's `control_routes`; an API with its own controls extends it:
#     control_routes = (*CONTROL_ROUTES, ControlRoute("PUT", "rate-limit", ...))
CONTROL_ROUTES: tuple[ControlRoute, ...] = (
    ControlRoute(
        "PUT",
        "latency",
        "every API request waits this long before answering; 0 turns it off",
        lambda sandbox, data: sandbox.set_latency(float(data["seconds"])),
        examples=(("half a second on every request", {"seconds": 0.5}),),
    ),
    ControlRoute(
        "POST",
        "faults",
        "appends a fault script: each API request plays its next step, then the API is normal",
        _add_faults,
        examples=(
            (
                "the next 3 requests answer 503: every attempt fails, the event goes out partial",
                {"steps": [{"status": 503}, {"status": 503}, {"status": 503}]},
            ),
            (
                "one 429 with Retry-After, then normal answers (retried: enriched)",
                {"steps": [{"status": 429, "headers": {"Retry-After": "1"}}]},
            ),
            (
                "only requests for one address: one 500",
                {"email": "customer@example.com", "steps": [{"status": 500}]},
            ),
            ("a slow answer: a read timeout at HTTP_TIMEOUT_SECONDS=3", {"steps": [{"delay": 5}]}),
            (
                "a connection reset, a truncated body, a non-JSON page",
                {"steps": [{"reset": True}, {"truncate": True}, {"non_json": True}]},
            ),
        ),
        details=(
            'steps: {"status": N, "headers": {...}, "body": ...} · {"delay": seconds} ·'
            ' {"reset": true}\n· {"truncate": true} · {"non_json": true} · {"pass": true}'
            ' (a normal answer)\n"email" plays the script only for that address;'
            ' "page": n on a step waits for page n or later'
        ),
    ),
    ControlRoute(
        "PUT",
        "outage",
        "every API request fails with this status (503 by default) for this many seconds;"
        " 0 ends it",
        lambda sandbox, data: sandbox.outage.start(
            float(data["seconds"]), int(data.get("status", 503))
        ),
        examples=(
            (
                "down for 20 s: a queued record waits it out, then comes out whole",
                {"seconds": 20, "status": 503},
            ),
            ("up again now", {"seconds": 0}),
        ),
    ),
    ControlRoute(
        "GET",
        "outage",
        "whether an outage is on, and how long it has left",
        lambda sandbox, data: ApiResponse(200, sandbox.outage.state()),
    ),
    ControlRoute(
        "GET",
        "requests",
        "the API requests received, oldest first (keys redacted)",
        lambda sandbox, data: ApiResponse(200, sandbox.requests()),
    ),
    ControlRoute(
        "DELETE",
        "requests",
        "clears the request log",
        lambda sandbox, data: sandbox.clear_requests(),
    ),
    ControlRoute(
        "GET",
        "rate-limit",
        "the rate limiter's settings, and how many requests it refused since the last reset",
        lambda sandbox, data: ApiResponse(200, sandbox.rate_limiter.state()),
    ),
    ControlRoute(
        "PUT",
        "rate-limit",
        "changes the rate limiter's settings until the next reset",
        _configure_rate_limit,
        examples=(
            ("turn it on at 20 requests per second", {"enabled": True, "limit": 20}),
            ("turn it off", {"enabled": False}),
        ),
        details=(
            "settings: enabled, limit, window_seconds, first_retry_after, growth,"
            " max_retry_after, jitter\n429 Retry-After: first_retry_after x growth^n for the"
            " n-th refusal in a row, at most max_retry_after"
        ),
    ),
    ControlRoute(
        "POST",
        "reset",
        "back to normal: no faults or outage, no latency, an empty request log, the rate limit"
        " as it started (and the sales API forgets its Idempotency-Keys and pagination)",
        lambda sandbox, data: sandbox.reset(),
    ),
)


@dataclass
class _Script:
    email: str | None
    steps: deque[dict[str, Any]]


class SandboxServer:
    """One API on 127.0.0.1. Subclasses implement `route` (the path's shape; fills
    request.email and .page), `authorize`, `answer` and `error` (the API's error envelope), may
    replace `serve`, the pipeline a request goes through once routed, and may add control
    routes to `control_routes`."""

    control_routes: ClassVar[tuple[ControlRoute, ...]] = CONTROL_ROUTES

    def __init__(self, rate_limit: RateLimitSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._latency = 0.0
        self._scripts: list[_Script] = []
        self._log: list[dict[str, Any]] = []
        self.generation = 0  # counts resets
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.faults_played = 0
        self.rate_limiter = SlidingWindowLimiter(rate_limit or RateLimitSettings(enabled=False))
        self.outage = Outage()

    # --- what each API implements -------------------------------------------------------------
    def route(self, request: ApiRequest) -> ApiResponse | None:
        """A response here (an unknown route) ends the request before faults and latency."""
        raise NotImplementedError

    def authorize(self, request: ApiRequest) -> ApiResponse | None:
        return None

    def answer(self, request: ApiRequest) -> ApiResponse:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str, **fields: Any) -> ApiResponse:
        return error(status, code, message)

    def fault_error(self, status: int) -> ApiResponse:
        """The answer a fault step with only a status gives: the API's envelope, coded after
        the status as the API codes it."""
        phrase = _REASONS.get(status, "Error")
        return self.error(status, phrase.lower().replace(" ", "_"), phrase)

    def serve(self, request: ApiRequest) -> ApiResponse:
        """Rate limit, then (after the injected latency) authorization and the answer."""
        verdict = self.rate_limiter.check(request.client)
        if verdict is not None and not verdict.allowed:
            response = self.rate_limited(verdict.retry_after or 1)
        else:
            response = self.handle(request)
        if verdict is not None:
            response.headers = {**verdict.headers, **response.headers}
        return response

    def handle(self, request: ApiRequest) -> ApiResponse:
        """What the rate limit lets through: the injected latency, authorization, the answer."""
        self.sleep(self.latency)
        response = self.authorize(request)
        request.authorized = response is None
        return response or self.answer(request)

    def rate_limited(self, retry_after: int) -> ApiResponse:
        return self.error(429, "rate_limit_exceeded", "Too many requests. Please try again later.")

    def reset(self) -> None:
        with self._lock:
            self._latency = 0.0
            self._scripts.clear()
            self._log.clear()
            # A request still being answered (a slow fault an earlier test gave up on) must not
            # land in the next test's log.
            self.generation += 1
        self.rate_limiter.reset()
        self.outage.end()

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        """Serves on `port`, or on an ephemeral one when it is 0 or taken; returns the base URL
        clients use."""
        self._stopping.clear()
        try:
            self._httpd = _Server(self, port)
        except OSError:
            if not port:
                raise
            self._httpd = _Server(self, 0)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes requests sleeping out latency or a delay step
        self._httpd.shutdown()
        self._httpd.close_connections()  # pooled keep-alive connections would hold threads open
        self._httpd.server_close()  # joins the connection threads
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """Where the control routes live: scheme, host and port."""
        assert self._httpd is not None, "start() the sandbox first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return self.root_url

    # --- faults, latency and the log ------------------------------------------------------------
    @property
    def latency(self) -> float:
        return self._latency

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, seconds)

    def add_faults(self, steps: list[dict[str, Any]], email: str | None = None) -> None:
        with self._lock:
            self._scripts.append(_Script(email.lower() if email else None, deque(steps)))

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def sleep(self, seconds: float) -> None:
        """Sleeps, unless the sandbox is stopping."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def next_fault(self, request: ApiRequest) -> dict[str, Any] | None:
        """Takes the step this request plays, if any: an outage's first, then the scripts'."""
        outage = self.outage.step()
        if outage is not None:
            with self._lock:
                self.faults_played += 1
            return outage
        email = request.email.lower() if request.email else None
        with self._lock:
            script = self._script_for(email) if email else None
            script = script or self._script_for(None)
            if script is None or request.page < int(script.steps[0].get("page", 1)):
                return None
            step = script.steps.popleft()
            if not script.steps:
                self._scripts.remove(script)
            if not step.get("pass"):
                self.faults_played += 1
            return step

    def _script_for(self, email: str | None) -> _Script | None:
        return next((s for s in self._scripts if s.email == email and s.steps), None)

    def record(
        self, request: ApiRequest, status: int | str, retry_after: str | None = None
    ) -> None:
        headers = dict(request.headers)
        if "authorization" in headers:
            headers["authorization"] = "<redacted>"
        entry = {
            "method": request.method,
            "path": request.path,
            "email": request.email,
            "page": request.page,
            "headers": headers,
            "authorized": request.authorized,
            "body": request.json_or_none(),
            "status": status,
            "retry_after": retry_after,
            "at": request.received_at,
            "received_at": request.received_at,
            "answered_at": time.time(),
        }
        with self._lock:
            if request.generation == self.generation:
                self._log.append(entry)

    def control(self, method: str, path: str, body: bytes) -> ApiResponse:
        name = path[len(CONTROL_PREFIX) :].partition("?")[0]
        if (method, name) == ("GET", ""):
            return ApiResponse(200, self.control_index(), content_type="text/plain; charset=utf-8")
        route = next((r for r in self.control_routes if (r.method, r.name) == (method, name)), None)
        if route is None:
            return error(404, "route_not_found", f"No control {method} /__sandbox/{name}")
        try:
            answer = route.run(self, json.loads(body) if body else {})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return error(400, "bad_request", f"Invalid control request: {exc}")
        return answer if answer is not None else ApiResponse(200, {"ok": True})

    def control_index(self) -> str:
        """GET /__sandbox/: every control route with a curl command to copy."""
        root = self.root_url
        title = type(self).__name__.removesuffix("Sandbox") or type(self).__name__
        lines = [
            f"{title} sandbox at {root}: its controls, each with a curl to copy."
            " What you inject stays until POST /__sandbox/reset.",
        ]
        for route in self.control_routes:
            url = shlex.quote(f"{root}{CONTROL_PREFIX}{route.name}")
            lines += ["", f"{route.method} {CONTROL_PREFIX}{route.name}: {route.summary}"]
            lines += [f"  {line}" for line in route.details.splitlines()]
            method = "" if route.method == "GET" else f"-X {route.method} "
            if not route.examples:
                lines.append(f"  curl {method}{url}")
            for purpose, example in route.examples:
                data = shlex.quote(json.dumps(example))
                lines += [
                    f"  # {purpose}",
                    f"  curl {method}{url} -H 'Content-Type: application/json' -d {data}",
                ]
        return "\n".join(lines) + "\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, sandbox: SandboxServer, port: int = 0) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own server_bind looks the host name up (socket.getfqdn): slow, and unused.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are part of the game here


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 with a lean request parser: the sandboxes need only the raw target, a
    dict of headers and the body, and the stdlib's email-based header parsing would cost more
    than everything else a request does."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' pools expect
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        line = self.rfile.readline(_MAX_LINE + 1)
        if not line:
            self.close_connection = True
            return
        request = self._read_request(line)
        if request is None:
            return
        sandbox = self.server.sandbox
        if request.path.startswith(CONTROL_PREFIX):
            self._send(sandbox.control(request.method, request.path, request.body))
        else:
            self._serve_api(sandbox, request)

    def _read_request(self, line: bytes) -> ApiRequest | None:
        """Parses one request; answers and returns None when it is malformed."""
        self.close_connection = True  # until the request proves it can keep the connection
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or len(line) > _MAX_LINE:
            self._send(error(400, "bad_request", "Malformed request line"))
            return None
        self.command, self.path, self.request_version = parts
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            raw = self.rfile.readline(_MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, colon, value = raw.decode("latin-1").partition(":")
            if not colon or len(raw) > _MAX_LINE:
                self._send(error(400, "bad_request", "Malformed header"))
                return None
            headers[name.strip().lower()] = value.strip()
        else:
            self._send(error(431, "bad_request", "Too many headers"))
            return None
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._send(error(411, "bad_request", "Send a Content-Length"))
            return None
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._send(error(400, "bad_request", "Invalid Content-Length"))
            return None
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            return None  # the client hung up mid-body
        connection = headers.get("connection", "").lower()
        if self.request_version == "HTTP/1.0":
            self.close_connection = "keep-alive" not in connection
        else:
            self.close_connection = "close" in connection
        return ApiRequest(self.command, self.path, headers, body)

    def _serve_api(self, sandbox: SandboxServer, request: ApiRequest) -> None:
        request.client = str(self.client_address[0])
        request.generation = sandbox.generation
        response = sandbox.route(request)
        if response is None:
            step = sandbox.next_fault(request)
            if step is not None and self._play(sandbox, step, request):
                return
            response = sandbox.serve(request)
        sandbox.record(request, response.status, response.headers.get("Retry-After"))
        self._send(response)

    def _play(self, sandbox: SandboxServer, step: dict[str, Any], request: ApiRequest) -> bool:
        """Plays one fault step; True when it replaced the answer."""
        sandbox.sleep(float(step.get("delay", 0)))
        if step.get("reset"):
            sandbox.record(request, "reset")
            # SO_LINGER 0: close with a TCP RST, as a crashed peer or a load balancer would.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return True
        if step.get("truncate"):
            sandbox.record(request, "truncated")
            self.close_connection = True
            sent = b'{"data": {"id": 1'
            self._send(ApiResponse(200, sent), content_length=len(sent) + 100)
            return True
        response = _fault_response(sandbox, step)
        if response is None:
            return False
        sandbox.record(request, response.status, response.headers.get("Retry-After"))
        self._send(response)
        return True

    def _send(self, response: ApiResponse, content_length: int | None = None) -> None:
        """Status line, headers and body in one write: one segment for small answers."""
        payload = response.payload()
        lines = [
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(payload) if content_length is None else content_length}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)


def _fault_response(sandbox: SandboxServer, step: dict[str, Any]) -> ApiResponse | None:
    if step.get("non_json"):
        return ApiResponse(200, b"<html>oops</html>", content_type="text/html")
    if "status" not in step:
        return None
    status = int(step["status"])
    headers = {str(k): str(v) for k, v in (step.get("headers") or {}).items()}
    content_type = next(
        (headers.pop(k) for k in list(headers) if k.lower() == "content-type"), None
    )
    # Without a body of its own, the API's error envelope for that status.
    body = step["body"] if "body" in step else sandbox.fault_error(status).body
    if content_type is None:
        content_type = "text/plain" if isinstance(body, str) else "application/json"
    return ApiResponse(status, body, headers, content_type)
