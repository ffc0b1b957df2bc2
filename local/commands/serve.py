"""`make serve`: the handler at http://127.0.0.1:3000/webhooks/<provider>, on the local stack.

Each request becomes an API Gateway HTTP API (v2) event for the real handler; its answer goes
back to the caller and one line per request is printed here (status, event id, enrichment
status, relationship, time); --verbose adds the function's logs and the enriched event. Try:

    curl -i -d email=customer@example.com http://127.0.0.1:3000/webhooks/website
    make send EVENT=events/http-api-typeform.json

The function runs as deployed, with duplicate protection (the local DynamoDB table), except
that the lookup cache is off so that faults injected into the sandboxes show at once
(LOOKUP_CACHE_TTL_SECONDS=60 make serve turns it on). Variables set in your shell win.

With --mode queued (or WEBHOOK_MODE=queued) webhooks are answered 202 "queued" as soon as they
are checked and put on the local intake queue; a poller does what Lambda's event source mapping
does (local/stand_ins/sqs_event_source.py) and prints a line per batch with the enriched events.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from local.commands.handback_notes import HandBackNotes
from local.commands.invoker import configuration_error, invoke, load_handler
from local.commands.serve_console import ServeConsole
from local.commands.serve_requests import (
    FUNCTION_ERROR_BODY,
    FUNCTION_ERROR_STATUS,
    PATH_PREFIX,
    request_handler,
)
from local.stand_ins.sqs_event_source import SqsEventSource
from local.stand_ins.stack import LocalStack

DEFAULT_PORT = 3000


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        server = ThreadingHTTPServer((args.host, args.port), BaseHTTPRequestHandler)
    except OSError as exc:
        print(f"error: {_listen_error(exc, args.host, args.port)}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops it as cleanly as Ctrl-C
    try:
        with (
            server,
            # The sandboxes beside the function, at fixed ports where free (3001 and 3002 by
            # default), so that the README's sandbox commands work as pasted.
            LocalStack(sandbox_ports=_sandbox_ports(server)) as stack,
            stack.apply_env(**_function_env(stack, args.verbose, args.mode, server)),
        ):
            console = ServeConsole(verbose=args.verbose)
            problem = configuration_error()
            handler = load_handler()
            one_at_a_time = threading.Lock()  # one Lambda container handles one event at a time
            server.RequestHandlerClass = request_handler(stack, handler, console, one_at_a_time)
            _print_banner(server, stack, args.mode)
            if problem:
                answer = f"{FUNCTION_ERROR_STATUS} {FUNCTION_ERROR_BODY}"
                console.configuration_error(problem, answer)
            if args.mode == "queued":
                # Records handed back to wait are printed with what they wait for.
                notes = HandBackNotes().attach(os.environ.get("LOG_LEVEL", "ERROR"))
                with _intake_poller(stack, handler, console, one_at_a_time, notes):
                    server.serve_forever()
            else:
                server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _sandbox_ports(server: ThreadingHTTPServer) -> tuple[int, int]:
    port = server.server_address[1]
    return (port + 1, port + 2) if port + 2 <= 65535 else (0, 0)


def _intake_poller(
    stack: LocalStack,
    handler: Any,
    console: ServeConsole,
    lock: threading.Lock,
    notes: HandBackNotes | None = None,
) -> SqsEventSource:
    """The intake queue's event source mapping: each batch invokes the function, then what it
    forwarded is printed."""

    def invoke_batch(event: dict[str, Any], context: Any) -> Any:
        started = time.perf_counter()
        with lock:
            invocation = invoke(handler, event, context.get_remaining_time_in_millis() / 1000)
            queued = stack.receive_all()
            console.intake_batch(
                len(event["Records"]),
                invocation,
                queued,
                time.perf_counter() - started,
                waiting=notes.take() if notes is not None else [],
            )
        if invocation.error is not None:
            raise invocation.error
        return invocation.result

    return SqsEventSource(
        stack.client("sqs"),
        stack.intake_queue_url,
        invoke_batch,
        on_error=lambda exc: None,  # printed by the console already
    )


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.commands.serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", help=f"port to listen on (default: $PORT or {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--verbose", action="store_true", help="also print the function's logs and each event"
    )
    parser.add_argument(
        "--mode",
        choices=("direct", "queued"),
        default=os.environ.get("WEBHOOK_MODE", "direct"),
        help="direct: enrich before answering; queued: answer at once, enrich from the intake"
        " queue (default: $WEBHOOK_MODE or direct)",
    )
    args = parser.parse_args(argv)
    port = args.port or os.environ.get("PORT") or str(DEFAULT_PORT)
    if not port.isdigit() or int(port) > 65535:
        parser.error(f"the port must be a number from 0 to 65535, not {port!r}")
    args.port = int(port)
    return args


def _listen_error(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} is already in use (another make serve?). Stop that process, or"
            f" choose another port: PORT={port + 1} make serve"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}; choose one above 1023: PORT=3000 make serve"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def _function_env(
    stack: LocalStack,
    verbose: bool,
    mode: str = "direct",
    server: ThreadingHTTPServer | None = None,
) -> dict[str, str]:
    env = os.environ
    queued = {"INTAKE_QUEUE_URL": stack.intake_queue_url} if mode == "queued" else {}
    # HubSpot signs the URL it posts to: here, this server's (a tunnel's when one is in front:
    # set WEBHOOK_BASE_URL to its public URL).
    host, port = server.server_address[:2] if server else ("127.0.0.1", DEFAULT_PORT)
    return {
        **queued,
        "WEBHOOK_BASE_URL": env.get("WEBHOOK_BASE_URL", f"http://{host}:{port}"),
        "IDEMPOTENCY_TABLE": env.get("IDEMPOTENCY_TABLE", stack.table_name),
        "PACING_TABLE": env.get("PACING_TABLE", stack.pacing_table_name),
        "LOOKUP_CACHE_TTL_SECONDS": env.get("LOOKUP_CACHE_TTL_SECONDS", "0"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO" if verbose else "ERROR"),
        "POWERTOOLS_METRICS_DISABLED": env.get(
            "POWERTOOLS_METRICS_DISABLED", "false" if verbose else "true"
        ),
    }


def _print_banner(server: ThreadingHTTPServer, stack: LocalStack, mode: str = "direct") -> None:
    host, port = server.server_address[:2]
    base = f"http://{host}:{port}"
    port_prefix = "" if port == DEFAULT_PORT else f"PORT={port} "
    print(f"serving the webhook at {base}{PATH_PREFIX}<provider> (Ctrl-C stops)")
    print(f"  curl -i -d email=customer@example.com {base}{PATH_PREFIX}website")
    print(f"  {port_prefix}make send EVENT=events/http-api-typeform.json")
    print("  sandbox controls (latency, faults, request log), each with a curl to copy:")
    print(f"    curl {stack.minimo.root_url}/__sandbox/    # Minimo")
    print(f"    curl {stack.sales.root_url}/__sandbox/    # sales API")
    table = os.environ.get("IDEMPOTENCY_TABLE")
    cache = os.environ.get("LOOKUP_CACHE_TTL_SECONDS")
    pacing = os.environ.get("PACING_TABLE")
    print(
        f"  duplicate protection {f'on (IDEMPOTENCY_TABLE={table})' if table else 'off'};"
        f" pacing {f'shared (PACING_TABLE={pacing})' if pacing else 'per container'};"
        f" lookup cache {'off' if cache in ('0', '') else f'{cache} s'};"
        " one line per request (--verbose adds logs and events)",
        flush=True,
    )
    if mode == "queued":
        print(
            "  queued mode: webhooks are answered 202 at once and enriched from the intake"
            " queue, a line per batch",
            flush=True,
        )


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
