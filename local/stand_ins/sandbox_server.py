"""What both sandbox APIs share: the server's state and lifecycle, injectable latency, per-request
fault scripts, and a log of every API request received.

The control routes are in local/stand_ins/sandbox_control_routes.py, the wire in
local/stand_ins/sandbox_http.py.

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
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

from local.stand_ins.sandbox_control_routes import CONTROL_PREFIX, CONTROL_ROUTES, ControlRoute
from local.stand_ins.sandbox_http import SandboxHTTPServer
from local.stand_ins.sandbox_messages import HTTP_REASONS, ApiRequest, ApiResponse, error
from local.stand_ins.sandbox_outage import Outage
from local.stand_ins.sandbox_rate_limit import RateLimitSettings, SlidingWindowLimiter


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
        self._httpd: SandboxHTTPServer | None = None
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
        phrase = HTTP_REASONS.get(status, "Error")
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
            self._httpd = SandboxHTTPServer(self, port)
        except OSError:
            if not port:
                raise
            self._httpd = SandboxHTTPServer(self, 0)
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
