"""An HTTP proxy in front of moto's server that can make AWS misbehave: throttling, server
errors, a queue that has gone, batches in which some entries fail, and calls that hang.

Point AWS_ENDPOINT_URL at it; every request goes on to moto unchanged unless a fault step
applies. Each step is consumed by the first request it matches, in order:

  {"throttle": true}          400 RequestThrottled (botocore retries it); with
                              "retry_after_ms": 3000 it carries x-amz-retry-after, which
                              botocore's standard mode waits out before its retry
  {"status": 500}             a bare 5xx (botocore retries it)
  {"queue_missing": true}     400 QueueDoesNotExist (not retried)
  {"fail_entries": [0, 3]}    a SendMessageBatch whose entries at those positions fail
                              (the others go on to moto); "all" fails every entry
  {"hang": true}              the request is read and never answered, nor passed on: a service
                              that accepts connections and stalls (until clear() or stop())
  {"delay": 2.5}              waits 2.5 s, then passes the request on and answers
  {"answer_after": 2.5}       passes the request on at once (it takes effect) and answers
                              2.5 s later: the caller may have given up on a call that worked
  {"pass": true}              goes on to moto as if there were no script

Which requests a step matches: "operation" (a name or a list: "PutItem", "GetSecretValue",
"SendMessageBatch", ...) or "service" ("sqs", "dynamodb", "secretsmanager"); a step with
neither matches SQS's SendMessage and SendMessageBatch. With "always": true a step is never
consumed: every matching request meets it until clear().
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

SEND_TARGETS = ("AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch")
# The X-Amz-Target prefix of each service's JSON protocol.
SERVICE_TARGETS = {
    "sqs": "AmazonSQS.",
    "dynamodb": "DynamoDB_20120810.",
    "secretsmanager": "secretsmanager.",
}
# A hung request is let go after this long at the latest, so that no test run leaks threads.
MAX_HANG_SECONDS = 120.0


class AwsFaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._steps: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.faults_played = 0
        self.operations: Counter[str] = Counter()  # requests received, by operation name
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the proxy first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        self._release_hung()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def add_faults(self, steps: list[dict[str, Any]]) -> None:
        with self._lock:
            self._steps.extend(steps)

    def clear(self) -> None:
        """Drops the script and lets every hung request go (closing its connection)."""
        with self._lock:
            self._steps.clear()
        self._release_hung()

    def _release_hung(self) -> None:
        released, self._released = self._released, threading.Event()
        released.set()

    def _next_fault(self, target: str) -> dict[str, Any] | None:
        with self._lock:
            self.operations[target.rsplit(".", 1)[-1]] += 1
            for index, step in enumerate(self._steps):
                if _matches(step, target):
                    if not step.get("always"):
                        del self._steps[index]
                    self.faults_played += 0 if step.get("pass") else 1
                    return step
            return None


def _matches(step: dict[str, Any], target: str) -> bool:
    operation = step.get("operation")
    if operation is not None:
        names = [operation] if isinstance(operation, str) else list(operation)
        return target.rsplit(".", 1)[-1] in names
    service = step.get("service")
    if service is not None:
        return target.startswith(SERVICE_TARGETS[service])
    return target in SEND_TARGETS


def _error(code: str, message: str, sender: bool = True) -> tuple[int, dict[str, Any]]:
    return 400 if sender else 500, {"__type": f"com.amazonaws.sqs#{code}", "message": message}


def _handler_for(proxy: AwsFaultProxy) -> type[BaseHTTPRequestHandler]:
    session = requests.Session()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target", "")
            fault = proxy._next_fault(target)
            if fault is None:
                self._relay(body)
            elif fault.get("hang"):
                self._hang()
            elif "delay" in fault:
                time.sleep(float(fault["delay"]))
                self._relay(body)
            elif "answer_after" in fault:
                self._relay(body, answer_after=float(fault["answer_after"]))
            elif fault.get("throttle"):
                retry_after = fault.get("retry_after_ms")
                headers = {"x-amz-retry-after": str(retry_after)} if retry_after else None
                self._reply(*_error("RequestThrottled", "Rate exceeded"), headers=headers)
            elif fault.get("queue_missing"):
                self._reply(*_error("QueueDoesNotExist", "The specified queue does not exist."))
            elif "status" in fault:
                self._reply(int(fault["status"]), {"message": "injected"})
            elif "fail_entries" in fault and target.endswith("SendMessageBatch"):
                self._partial_batch(body, fault["fail_entries"])
            else:
                self._relay(body)

        do_GET = do_POST

        def _hang(self) -> None:
            """Never answers: the caller's read timeout is all that ends its wait."""
            proxy._released.wait(MAX_HANG_SECONDS)
            self.close_connection = True

        def _relay(self, body: bytes, answer_after: float = 0.0) -> None:
            url = proxy.upstream + self.path
            answer = session.request(
                self.command, url, data=body, headers=self._headers(), timeout=30
            )
            if answer_after:
                time.sleep(answer_after)
            try:
                self._send(answer.status_code, answer.content, answer.headers.get("Content-Type"))
            except OSError:  # the caller gave up and closed the connection
                self.close_connection = True

        def _partial_batch(self, body: bytes, failing: list[int] | str) -> None:
            request = json.loads(body)
            entries = request["Entries"]
            doomed = range(len(entries)) if failing == "all" else set(failing)
            kept = [e for i, e in enumerate(entries) if i not in doomed]
            failed = [
                {
                    "Id": e["Id"],
                    "SenderFault": False,
                    "Code": "InternalError",
                    "Message": "injected",
                }
                for i, e in enumerate(entries)
                if i in doomed
            ]
            successful: list[dict[str, Any]] = []
            if kept:
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                answer = session.post(
                    proxy.upstream + self.path,
                    data=json.dumps({**request, "Entries": kept}),
                    headers=headers,
                    timeout=30,
                ).json()
                successful = answer.get("Successful", [])
                failed += answer.get("Failed", [])
            self._reply(200, {"Successful": successful, "Failed": failed})

        def _headers(self) -> dict[str, str]:
            skip = ("host", "content-length")
            return {k: v for k, v in self.headers.items() if k.lower() not in skip}

        def _reply(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            body = json.dumps(payload).encode()
            self._send(status, body, "application/x-amz-json-1.0", headers)

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str | None,
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type or "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
