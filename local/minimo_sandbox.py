"""Minimo's contacts API as its document describes: GET /public/v1/contacts/by-email/{email}."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from email_validator import EmailNotValidError, validate_email

from local.sandbox_server import ApiRequest, ApiResponse, SandboxServer, error

PREFIX = "/public/v1/contacts/by-email/"


class MinimoSandbox(SandboxServer):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self.token = f"mn-{data['client_id']}-{data['api_key']}"
        self._contacts = {c["email"].lower(): c for c in data["contacts"]}

    @property
    def url(self) -> str:
        return f"{self.root_url}/public/v1"

    def route(self, request: ApiRequest) -> ApiResponse | None:
        path = request.path.split("?", 1)[0]  # the RAW path: %2F must not count as a separator
        segment = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if request.method != "GET" or not segment or "/" in segment:
            return error(404, "route_not_found", "no such route")
        request.email = unquote(segment)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error(401, "unauthorized", "Invalid API key")
        return None

    def answer(self, request: ApiRequest) -> ApiResponse:
        email = request.email or ""
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            return error(400, "bad_request", "Invalid email format")
        contact = self._contacts.get(email.lower())
        if contact is None or contact["deleted"]:
            return error(404, "not_found", "No contact with this email")
        return ApiResponse(200, {"data": contact})
