"""Minimo's contacts API as its document describes: GET /public/v1/contacts/by-email/{email}.

Errors are `{"error": {"code", "message", "details"}}` (Minimo's API conventions page). Minimo
has a 429 `rate_limit_exceeded` but publishes no numbers, so the rate limit is off unless a
test or a user turns it on (PUT /__sandbox/rate-limit).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from local.stand_ins.sandbox_messages import ApiRequest, ApiResponse, is_email
from local.stand_ins.sandbox_rate_limit import RateLimitSettings
from local.stand_ins.sandbox_server import SandboxServer

PREFIX = "/public/v1/contacts/by-email/"
# What a fault step with only a status answers, coded as Minimo codes its errors.
_FAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    429: "rate_limit_exceeded",
    500: "internal_error",
}


class MinimoSandbox(SandboxServer):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(RateLimitSettings(enabled=False, growth=1.0))
        self.token = f"mn-{data['client_id']}-{data['api_key']}"
        self._authorization = f"Bearer {self.token}"
        self._contacts = {c["email"].lower(): c for c in data["contacts"]}

    @property
    def url(self) -> str:
        return f"{self.root_url}/public/v1"

    def error(self, status: int, code: str, message: str, **fields: Any) -> ApiResponse:
        return ApiResponse(status, {"error": {"code": code, "message": message, "details": None}})

    def fault_error(self, status: int) -> ApiResponse:
        if status in _FAULT_CODES:
            return self.error(status, _FAULT_CODES[status], f"HTTP {status}")
        return super().fault_error(status)

    def route(self, request: ApiRequest) -> ApiResponse | None:
        # The RAW path: an unencoded "/" makes a second segment, while "%2F" stays inside one.
        path = request.path.partition("?")[0]
        segment = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if request.method != "GET" or not segment or "/" in segment:
            return self.error(404, "route_not_found", "No route matches this method and path")
        request.email = unquote(segment)
        return None

    def authorize(self, request: ApiRequest) -> ApiResponse | None:
        if request.headers.get("authorization") != self._authorization:
            return self.error(401, "unauthorized", "Invalid API key")
        return None

    def answer(self, request: ApiRequest) -> ApiResponse:
        email = request.email or ""
        if not is_email(email):
            return self.error(400, "bad_request", "Invalid email format")
        contact = self._contacts.get(email.lower())
        if contact is None or contact["deleted"]:  # soft-deleted contacts are not returned
            return self.error(404, "not_found", "No contact with this email")
        return ApiResponse(200, {"data": contact})
