"""Reads an API's error answer into a LookupFailed that says what went wrong and what it means.

Both APIs wrap errors in `{"error": {...}}`. The sales API (OpenMRP) sends `code`, `type`,
`message`, `param` and `is_transient`; Minimo sends `code`, `message` and `details`. An answer
without that shape (a proxy's HTML page, say) is described by its status alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests

from lookups.pacing import rate_limit_headers
from lookups.results import LookupFailed

# Longest API message carried into the enriched event; API messages are one sentence.
MAX_MESSAGE_CHARS = 300
# What an error code or parameter name looks like; anything else is not carried into logs.
_TOKEN = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")
# Codes by status for answers that carry no error envelope.
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limit_exceeded",
}


@dataclass(frozen=True, slots=True)
class ErrorRules:
    """How one API's errors are to be read."""

    api: str  # its name in messages: "Minimo", "the sales API"
    # 400 codes that every request would draw alike: the deployment, not the event, is wrong.
    configuration_codes: frozenset[str] = frozenset()
    # A 404 from an endpoint that never answers 404 means the base URL is wrong.
    not_found_is_configuration: bool = False


def failure_from(response: requests.Response, rules: ErrorRules) -> LookupFailed:
    """An HTTP answer the lookup cannot use, once retries (where they apply) are spent."""
    status = response.status_code
    envelope = _envelope(response)
    code = _token(envelope.get("code")) or _STATUS_CODES.get(status) or _fallback_code(status)
    api_message = _text(envelope.get("message"))
    message = f"{rules.api} answered HTTP {status}"
    if api_message:
        message = f"{message}: {api_message[:MAX_MESSAGE_CHARS]}"
    configuration = (
        status in (401, 403)
        or (status == 400 and code in rules.configuration_codes)
        or (status == 404 and rules.not_found_is_configuration)
    )
    # Waiting for a rate limit or for our own earlier attempt is not a failure of the API.
    deferrable = status == 429 or (status == 409 and envelope.get("is_transient") is True)
    retry_after = rate_limit_headers.retry_after_seconds(response.headers.get("Retry-After"))
    usable_wait = retry_after is not None
    if deferrable and retry_after is None:
        retry_after = rate_limit_headers.DEFAULT_RATE_LIMIT_WAIT_SECONDS
    return LookupFailed(
        code,
        message,
        param=_token(envelope.get("param")),
        configuration=configuration,
        deferrable=deferrable,
        retry_after=retry_after if deferrable else None,
        # The server's failure, or a 429 that says nothing of when to come back.
        transient=status >= 500 or (status == 429 and not usable_wait),
    )


def _envelope(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _token(value: Any) -> str | None:
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else None


def _fallback_code(status: int) -> str:
    return "unavailable" if status >= 500 else f"http_{status}"
