"""`make serve`: the handler at http://127.0.0.1:3000/webhooks/<provider>, on the local stack.

Each request becomes an API Gateway HTTP API (v2) event for the real handler; its answer goes
back to the caller and whatever reached the output queue is printed here. Try:

    curl -i -d email=customer@example.com http://127.0.0.1:3000/webhooks/website
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.invoker import invoke, load_handler
from local.lambda_events import http_api_event
from local.stack import LocalStack

PATH_PREFIX = "/webhooks/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    with LocalStack() as stack, stack.apply_env(LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO")):
        handler = load_handler()
        server = ThreadingHTTPServer((args.host, args.port), _request_handler(stack, handler))
        url = f"http://{args.host}:{server.server_address[1]}{PATH_PREFIX}<provider>"
        print(f"serving the webhook at {url} (Ctrl-C stops)", flush=True)
        print(f"  curl -i -d email=customer@example.com {url.replace('<provider>', 'website')}")
        controls = f"{stack.minimo.root_url}/__sandbox/, {stack.sales.root_url}/__sandbox/"
        print(f"  sandbox controls (latency, faults, request log): {controls}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


def _request_handler(stack: LocalStack, handler: Any) -> type[BaseHTTPRequestHandler]:
    one_at_a_time = threading.Lock()  # one Lambda container handles one event at a time

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._handle()

        do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

        def _handle(self) -> None:
            path = self.path.split("?", 1)[0]
            if not path.startswith(PATH_PREFIX) or "/" in path[len(PATH_PREFIX) :].strip("/"):
                self._reply(404, {"message": "Not Found"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            event = http_api_event(
                body,
                provider=path[len(PATH_PREFIX) :].strip("/"),
                content_type=self.headers.get("Content-Type"),
                headers=dict(self.headers.items()),
                method=self.command,
                path=path,
            )
            with one_at_a_time:
                invocation = invoke(handler, event)
                arrived = stack.receive_all()
            if invocation.error is not None:
                self._reply(500, {"message": "Internal Server Error"})
            else:
                result = invocation.result
                self._reply(result["statusCode"], json.loads(result["body"]))
            for message in arrived:
                print("queued:", json.dumps(message["body"], indent=2), flush=True)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


if __name__ == "__main__":
    raise SystemExit(main())
