"""The sandboxes' control routes (never logged as API requests), from the table CONTROL_ROUTES
(each API may add its own: the sales API's PUT /__sandbox/pagination); GET /__sandbox/ lists
them with a curl command for each:
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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.stand_ins.sandbox_messages import ApiResponse

if TYPE_CHECKING:  # the server imports this module
    from local.stand_ins.sandbox_server import SandboxServer

CONTROL_PREFIX = "/__sandbox/"


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
