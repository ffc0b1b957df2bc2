"""The HTTP machinery the two sandbox APIs share: a threaded keep-alive server, injectable
latency and per-request fault scripts, and a log of every API request received.

Control routes (never logged as API requests):
  POST   /__sandbox/reset     clear faults, latency, the request log and stored idempotency keys
  PUT    /__sandbox/latency   {"seconds": 0.2}: every API request waits this long first
  POST   /__sandbox/faults    {"email": optional, "steps": [...]}: a script consumed one step per
                              matching API request, before normal behaviour resumes. A step is
                              {"status", "headers", "body"}, {"delay": s}, {"reset": true},
                              {"truncate": true}, {"non_json": true} or {"pass": true} (answer
                              normally); "page": n makes it apply only from that page on.
  GET    /__sandbox/requests  the request log; DELETE clears it
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONTROL_PREFIX = "/__sandbox/"


@dataclass
class ApiRequest:
    method: str
    path: str  # raw, query string included
    headers: dict[str, str]  # lower-case names
    body: bytes
    email: str | None = None  # filled in by the API once it has parsed the request
    page: int = 1
    received_at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ApiResponse:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def error(status: int, code: str, message: str) -> ApiResponse:
    return ApiResponse(status, {"error": {"code": code, "message": message}})


@dataclass
class _Script:
    email: str | None
    steps: list[dict[str, Any]]


class SandboxServer:
    """Subclasses implement `route(request)` (parse, set request.email) and `answer(request)`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency = 0.0
        self._scripts: list[_Script] = []
        self._log: list[dict[str, Any]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self.faults_played = 0
        self._thread: threading.Thread | None = None

    # --- what each API implements -------------------------------------------------------------
    def route(self, request: ApiRequest) -> ApiResponse | None:
        """Checks path and auth and fills request.email/page; a response here ends the request."""
        raise NotImplementedError

    def answer(self, request: ApiRequest) -> ApiResponse:
        raise NotImplementedError

    def reset(self) -> None:
        with self._lock:
            self._latency = 0.0
            self._scripts.clear()
            self._log.clear()

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        handler = _handler_for(self)
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        assert self._httpd is not None, "start() the sandbox first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return self.root_url

    # --- faults, latency and the log ------------------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = seconds

    def add_faults(self, steps: list[dict[str, Any]], email: str | None = None) -> None:
        with self._lock:
            self._scripts.append(_Script(email.lower() if email else None, list(steps)))

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def _next_fault(self, request: ApiRequest) -> dict[str, Any] | None:
        """The next step of this address's script, else of the global one (no email)."""
        email = (request.email or "").lower()
        with self._lock:
            for wanted in ([email] if email else []) + [None]:
                for script in self._scripts:
                    if script.email != wanted:
                        continue
                    for index, step in enumerate(script.steps):
                        if request.page >= step.get("page", 1):
                            self.faults_played += 0 if step.get("pass") else 1
                            return script.steps.pop(index)
        return None

    def _record(
        self, request: ApiRequest, status: int | str, retry_after: str | None = None
    ) -> None:
        headers = dict(request.headers)
        authorized = "authorization" in headers
        if authorized:
            headers["authorization"] = "<redacted>"
        try:
            body = request.json() if request.body else None
        except ValueError:
            body = None
        entry = {
            "method": request.method,
            "path": request.path,
            "email": request.email,
            "page": request.page,
            "headers": headers,
            "authorized": authorized,
            "body": body,
            "status": status,
            "retry_after": retry_after,
            "received_at": request.received_at,
            "answered_at": time.time(),
        }
        with self._lock:
            self._log.append(entry)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are part of the game here


def _handler_for(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the clients' pools expect
        disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_PUT(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith(CONTROL_PREFIX):
                self._send(_control(sandbox, self.command, self.path, body))
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = ApiRequest(self.command, self.path, headers, body)
            early = sandbox.route(request)
            if early is not None:
                sandbox._record(request, early.status)
                self._send(early)
                return
            fault = sandbox._next_fault(request)
            if sandbox._latency:
                time.sleep(sandbox._latency)
            if fault is not None and self._apply(fault, request):
                return
            response = sandbox.answer(request)
            sandbox._record(request, response.status)
            self._send(response)

        def _apply(self, fault: dict[str, Any], request: ApiRequest) -> bool:
            """Plays one fault step; True when the step replaced the answer."""
            if "delay" in fault:
                time.sleep(float(fault["delay"]))
            if fault.get("reset"):
                sandbox._record(request, "reset")
                # SO_LINGER 0: close with a TCP RST, as a crashed peer or a load balancer would.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()
                return True
            if fault.get("truncate"):
                sandbox._record(request, "truncated")
                body = b'{"data": {"id": 1'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) + 100))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True
                return True
            if fault.get("non_json"):
                response = ApiResponse(200, b"<html>oops</html>", content_type="text/html")
            elif "status" in fault:
                response = ApiResponse(
                    int(fault["status"]), fault.get("body", {}), dict(fault.get("headers", {}))
                )
            else:
                return False
            sandbox._record(request, response.status, response.headers.get("Retry-After"))
            self._send(response)
            return True

        def _send(self, response: ApiResponse) -> None:
            payload = response.payload()
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _control(sandbox: SandboxServer, method: str, path: str, body: bytes) -> ApiResponse:
    route = path[len(CONTROL_PREFIX) :]
    data = json.loads(body) if body else {}
    if (method, route) == ("POST", "reset"):
        sandbox.reset()
    elif (method, route) == ("PUT", "latency"):
        sandbox.set_latency(float(data["seconds"]))
    elif (method, route) == ("POST", "faults"):
        sandbox.add_faults(data["steps"], data.get("email"))
    elif (method, route) == ("GET", "requests"):
        return ApiResponse(200, sandbox.requests())
    elif (method, route) == ("DELETE", "requests"):
        sandbox.clear_requests()
    else:
        return error(404, "route_not_found", f"no control route {method} {route}")
    return ApiResponse(200, {"ok": True})
