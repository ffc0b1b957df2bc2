"""A minimal Lambda Runtime API, as Lambda's own endpoint serves it to the runtime client.

The four calls a runtime makes (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

    GET  /2018-06-01/runtime/invocation/next              the next event (blocks until one)
    POST /2018-06-01/runtime/invocation/{id}/response     the handler's answer
    POST /2018-06-01/runtime/invocation/{id}/error        the handler raised
    POST /2018-06-01/runtime/init/error                   the handler could not be loaded

`invoke(event)` hands one event to whichever runtime asks next, with the headers Lambda sends
(request id, deadline, function ARN, trace id), and waits for its outcome.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Outcome:
    """What the runtime reported for one invocation (or for its init)."""

    kind: str  # "response", "error", "init_error" or "timeout"
    body: Any = None  # the answer, or {"errorType", "errorMessage", "stackTrace"}

    @property
    def error_type(self) -> str | None:
        return self.body.get("errorType") if isinstance(self.body, dict) else None


class RuntimeApi:
    def __init__(self, function_arn: str, timeout_seconds: float) -> None:
        self.function_arn = function_arn
        self.timeout_seconds = timeout_seconds
        self._events: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
        self._outcomes: dict[str, queue.Queue[Outcome]] = {}
        self.init_error: Outcome | None = None
        self._init_failed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """What AWS_LAMBDA_RUNTIME_API holds: host:port, no scheme."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> RuntimeApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: Any, grace_seconds: float = 5.0) -> Outcome:
        """One invocation. An init error, or no outcome by the deadline plus `grace_seconds`,
        is reported as such (Lambda would report a timeout and restart the environment)."""
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + self.timeout_seconds) * 1000)
        outcome: queue.Queue[Outcome] = queue.Queue()
        self._outcomes[request_id] = outcome
        self._events.put((request_id, json.dumps(event).encode(), deadline_ms))
        limit = time.monotonic() + self.timeout_seconds + grace_seconds
        while time.monotonic() < limit:
            try:
                return outcome.get(timeout=0.05)
            except queue.Empty:
                if self._init_failed.is_set():
                    return self.init_error or Outcome("init_error")
        return Outcome("timeout", {"errorMessage": f"no answer within {self.timeout_seconds} s"})

    # --- what the handler threads call ----------------------------------------------------------
    def next_event(self) -> tuple[str, bytes, int]:
        return self._events.get()

    def report(self, request_id: str, outcome: Outcome) -> bool:
        waiting = self._outcomes.pop(request_id, None)
        if waiting is None:
            return False
        waiting.put(outcome)
        return True

    def report_init_error(self, outcome: Outcome) -> None:
        self.init_error = outcome
        self._init_failed.set()


def _handler_for(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the runtime client keeps its connection open

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                self._reply(404, {"errorType": "NotFound"})
                return
            request_id, body, deadline_ms = api.next_event()
            self._reply(
                200,
                body,
                {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                    "Lambda-Runtime-Trace-Id": _trace_header(),
                },
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = _json_or_text(raw)
            parts = self.path.removeprefix(PREFIX).strip("/").split("/")
            if parts == ["init", "error"]:
                api.report_init_error(Outcome("init_error", body))
                self._reply(202, {"status": "OK"})
            elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                known = api.report(parts[1], Outcome(parts[2], body))
                self._reply(202 if known else 400, {"status": "OK" if known else "unknown id"})
            else:
                self._reply(404, {"errorType": "NotFound"})

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _trace_header() -> str:
    """An X-Ray trace header as Lambda passes it (the runtime sets _X_AMZN_TRACE_ID from it)."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"
