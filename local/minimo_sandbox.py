"""Minimo's contacts API as its document describes: GET /public/v1/contacts/by-email/{email}."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from local.sandbox_server import (
    ApiRequest,
    ApiResponse,
    SandboxServer,
    error,
    is_email,
    route_not_found,
)

PREFIX = "/public/v1/contacts/by-email/"


class MinimoSandbox(SandboxServer):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self.token = f"mn-{data['client_id']}-{data['api_key']}"
        self._authorization = f"Bearer {self.token}"
        self._contacts = {c["email"].lower(): c for c in data["contacts"]}

    @property
    def url(self) -> str:
        return f"{self.root_url}/public/v1"

    def route(self, request: ApiRequest) -> ApiResponse | None:
        # The RAW path: an unencoded "/" makes a second segment, while "%2F" stays inside one.
        path = request.path.partition("?")[0]
        segment = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if request.method != "GET" or not segment or "/" in segment:
            return route_not_found()
        request.email = unquote(segment)
        return None

    def authorize(self, request: ApiRequest) -> ApiResponse | None:
        if request.headers.get("authorization") != self._authorization:
            return error(401, "unauthorized", "Invalid API key")
        return None

    def answer(self, request: ApiRequest) -> ApiResponse:
        email = request.email or ""
        if not is_email(email):
            return error(400, "bad_request", "Invalid email format")
        contact = self._contacts.get(email.lower())
        if contact is None or contact["deleted"]:  # soft-deleted contacts are not returned
            return error(404, "not_found", "No contact with this email")
        return ApiResponse(200, {"data": contact})
