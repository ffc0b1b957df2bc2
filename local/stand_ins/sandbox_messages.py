"""What the sandbox APIs read and answer: one API request, one response, the error envelope."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from email_validator import EmailNotValidError, validate_email

HTTP_REASONS = {status.value: status.phrase for status in HTTPStatus}


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
