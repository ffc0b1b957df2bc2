"""`make serve`'s HTTP side: each request on /webhooks/<provider> becomes an API Gateway HTTP API
(v2) event for the handler, and the handler's result the answer API Gateway would send."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from local.commands.invoker import Invocation, invoke
from local.commands.serve_console import Exchange, ServeConsole
from local.stand_ins import signed_events
from local.stand_ins.lambda_events import http_api_event
from local.stand_ins.stack import LocalStack

PATH_PREFIX = "/webhooks/"


JSON = {"content-type": "application/json"}


# What API Gateway answers when the function raises instead of returning: 502 ("If the function
# runs but returns an error ... API Gateway returns a 502", docs.aws.amazon.com/lambda/latest/dg/
# services-apigateway-errors.html) with HTTP APIs' body (docs.aws.amazon.com/apigateway/latest/
# developerguide/http-api-troubleshooting-lambda.html).
FUNCTION_ERROR_STATUS = 502


FUNCTION_ERROR_BODY = json.dumps({"message": "Internal Server Error"})


NOT_FOUND_BODY = json.dumps({"message": "Not Found"})


def request_handler(
    stack: LocalStack, handler: Any, console: ServeConsole, one_at_a_time: threading.Lock
) -> type[BaseHTTPRequestHandler]:

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the console prints one line per request instead

        def do_POST(self) -> None:
            self._handle()

        do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

        def _handle(self) -> None:
            started = time.perf_counter()
            path, _, query = self.path.partition("?")
            provider = path[len(PATH_PREFIX) :].strip("/")
            if not path.startswith(PATH_PREFIX) or not provider or "/" in provider:
                self._reply(404, JSON, NOT_FOUND_BODY)
                console.not_handled(
                    self.command, signed_events.shown(self.path), 404, "not a webhook route"
                )
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self._reply(400, JSON, json.dumps({"message": "Bad Request"}))
                console.not_handled(
                    self.command, signed_events.shown(self.path), 400, "invalid Content-Length"
                )
                return
            event = http_api_event(
                self.rfile.read(length),
                provider=provider,
                content_type=self.headers.get("Content-Type"),
                headers=dict(self.headers.items()),
                method=self.command,
                path=path,
            )
            event["rawQueryString"] = query
            with one_at_a_time:  # also keeps each request's lines together
                invocation = invoke(handler, event)
                queued = stack.receive_all()
                status, headers, body = http_answer(invocation)
                self._reply(status, headers, body)
                elapsed = time.perf_counter() - started
                shown = signed_events.shown(self.path)  # never a token
                exchange = Exchange(self.command, shown, status, body, invocation, queued, elapsed)
                console.request(exchange)

        def _reply(self, status: int, headers: dict[str, str], body: str) -> None:
            payload = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def http_answer(invocation: Invocation) -> tuple[int, dict[str, str], str]:
    """What API Gateway makes of the handler's result (payload format 2.0)."""
    if invocation.error is not None:
        return FUNCTION_ERROR_STATUS, JSON, FUNCTION_ERROR_BODY
    result = invocation.result
    if not (isinstance(result, dict) and "statusCode" in result):
        # HTTP APIs treat any other JSON as a 200 body.
        return 200, JSON, json.dumps(result)
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    return int(result["statusCode"]), headers, body
