"""The sales API as its document describes: POST /v1/sales/contacts/actions/find-by-email,
with relationship filters, `include` expansion, cursor pagination and Idempotency-Key replay."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from email_validator import EmailNotValidError, validate_email

from local.sandbox_server import ApiRequest, ApiResponse, SandboxServer, error

PATH = "/v1/sales/contacts/actions/find-by-email"
RELATIONSHIPS = {"customer", "supplier", "self"}
INCLUDES = {"account_user", "account_user.user", "account_user.role"}


class SalesSandbox(SandboxServer):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self._key = data["api_key"]
        self._forbidden_key = data.get("forbidden_api_key")
        self._page_size = int(data.get("page_size", 2))
        self._created_at = data.get("created_at", "2026-01-01T00:00:00Z")
        self._contacts = data["contacts"]
        self._replays: dict[str, tuple[str, bytes, ApiResponse]] = {}
        self._replay_lock = threading.Lock()

    def reset(self) -> None:
        super().reset()
        with self._replay_lock:
            self._replays.clear()

    def route(self, request: ApiRequest) -> ApiResponse | None:
        parts = urlsplit(request.path)
        if request.method != "POST" or parts.path != PATH:
            return error(404, "route_not_found", "no such route")
        cursor = parse_qs(parts.query).get("cursor", ["0"])[0]
        request.page = int(cursor) // self._page_size + 1 if cursor.isdigit() else 1
        try:
            body = request.json()
            request.email = body.get("email") if isinstance(body, dict) else None
        except ValueError:
            pass
        auth = request.headers.get("authorization")
        if auth == f"Bearer {self._forbidden_key}":
            return error(403, "forbidden", "The API key lacks the customers:read permission")
        if auth != f"Bearer {self._key}":
            return error(401, "unauthorized", "Invalid API key")
        return None

    def answer(self, request: ApiRequest) -> ApiResponse:
        key = request.headers.get("idempotency-key")
        if key:
            with self._replay_lock:
                stored = self._replays.get(key)
            if stored is not None:
                path, body, response = stored
                if (path, body) != (request.path, request.body):
                    return error(409, "idempotency_key_reused", "Key used for another request")
                return ApiResponse(response.status, response.body, {"Idempotent-Replayed": "true"})
        response = self._find(request)
        if key and response.status < 500:
            with self._replay_lock:
                self._replays[key] = (request.path, request.body, response)
        return response

    def _find(self, request: ApiRequest) -> ApiResponse:
        try:
            body = request.json()
        except ValueError:
            return error(400, "bad_request", "The body must be JSON")
        if not isinstance(body, dict) or not isinstance(body.get("email"), str):
            return error(400, "bad_request", "email is required")
        try:
            validate_email(body["email"], check_deliverability=False)
        except EmailNotValidError:
            return error(400, "bad_request", "email is not a valid email address")
        relationships = body.get("relationships") or sorted(RELATIONSHIPS)
        include = set(body.get("include") or [])
        if not set(relationships) <= RELATIONSHIPS or not include <= INCLUDES:
            return error(400, "bad_request", "relationships or include holds an unknown value")
        email = body["email"].lower()
        matches = [
            c
            for c in self._contacts
            if c["email"].lower() == email and c["relationship"] in relationships
        ]
        cursor = parse_qs(urlsplit(request.path).query).get("cursor", ["0"])[0]
        start = int(cursor) if cursor.isdigit() else 0
        page = matches[start : start + self._page_size]
        end = start + len(page)
        return ApiResponse(
            200,
            {
                "object": "list",
                "page_info": {
                    "next_page_url": f"{PATH}?cursor={end}" if end < len(matches) else None,
                    "previous_page_url": (
                        f"{PATH}?cursor={max(0, start - self._page_size)}" if start else None
                    ),
                    "has_next_page": end < len(matches),
                    "has_prev_page": start > 0,
                },
                "data": [self._match(c, include) for c in page],
            },
        )

    def _match(self, contact: dict[str, Any], include: set[str]) -> dict[str, Any]:
        created = self._created_at
        account_user = None
        if include:  # account_user.user and account_user.role expand account_user as well
            role = dict(contact["role"], object="role", owner=None, created_at=created)
            user = dict(contact["user"], object="user", created_at=created, updated_at=created)
            account_user = {
                "id": contact["id"],
                "object": "account_user",
                "status": contact["account_user_status"],
                "role": role if "account_user.role" in include else None,
                "department": None,
                "user": user if "account_user.user" in include else None,
                "created_at": created,
                "updated_at": created,
            }
        return {
            "id": contact["id"],
            "object": "contact_match",
            "relationship": contact["relationship"],
            "email": contact["email"],
            "account_user": account_user,
            "account": {
                **contact["account"],
                "object": "account",
                "default_billing_address": None,
                "default_shipping_address": None,
                "branding": None,
                "portal": None,
                "created_at": created,
                "updated_at": created,
            },
        }
