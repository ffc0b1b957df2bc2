"""The sales API as its document describes: POST /v1/sales/contacts/actions/find-by-email,
with relationship filters, `include` expansion, cursor pagination and Idempotency-Key replay."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs

from local.sandbox_server import (
    ApiRequest,
    ApiResponse,
    SandboxServer,
    error,
    is_email,
    route_not_found,
)

PATH = "/v1/sales/contacts/actions/find-by-email"
RELATIONSHIPS = frozenset({"customer", "supplier", "self"})
INCLUDES = frozenset({"account_user", "account_user.user", "account_user.role"})


class SalesSandbox(SandboxServer):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self._authorization = f"Bearer {data['api_key']}"
        # Authenticates, but its role lacks customers:read.
        forbidden = data.get("forbidden_api_key")
        self._forbidden = f"Bearer {forbidden}" if forbidden else None
        self._page_size = int(data.get("page_size", 2))
        self._created_at = data.get("created_at", "2026-01-01T00:00:00Z")
        self._contacts = data["contacts"]
        # Idempotency-Key -> (path, body, first answer)
        self._answers: dict[str, tuple[str, Any, ApiResponse]] = {}
        self._answers_lock = threading.Lock()

    def reset(self) -> None:
        super().reset()
        with self._answers_lock:
            self._answers.clear()

    def route(self, request: ApiRequest) -> ApiResponse | None:
        path, _, query = request.path.partition("?")
        if request.method != "POST" or path != PATH:
            return route_not_found()
        offset = _cursor(query)
        request.page = (offset or 0) // self._page_size + 1
        body = request.json_or_none()
        if isinstance(body, dict) and isinstance(body.get("email"), str):
            request.email = body["email"]  # fault scripts are matched on it
        return None

    def authorize(self, request: ApiRequest) -> ApiResponse | None:
        authorization = request.headers.get("authorization")
        if self._forbidden and authorization == self._forbidden:
            return error(403, "forbidden", "The API key's role lacks the customers:read permission")
        if authorization != self._authorization:
            return error(401, "unauthorized", "Invalid API key")
        return None

    def answer(self, request: ApiRequest) -> ApiResponse:
        key = request.headers.get("idempotency-key")
        if not key:
            return self._find(request)
        fingerprint = _fingerprint(request)
        with self._answers_lock:
            stored = self._answers.get(key)
        if stored is not None:
            if stored[:2] != fingerprint:
                return error(
                    409, "idempotency_key_reused", "This key was used for a different request"
                )
            first = stored[2]
            return ApiResponse(first.status, first.body, {"Idempotent-Replayed": "true"})
        response = self._find(request)
        if response.status < 500:
            with self._answers_lock:
                self._answers.setdefault(key, (*fingerprint, response))
        return response

    def _find(self, request: ApiRequest) -> ApiResponse:
        try:
            body = request.json()
        except ValueError:
            return error(400, "bad_request", "The request body must be JSON")
        if not isinstance(body, dict):
            return error(400, "bad_request", "The request body must be a JSON object")
        email = body.get("email")
        if not isinstance(email, str) or not is_email(email):
            return error(400, "bad_request", "email must be a valid email address")
        relationships = _subset(body.get("relationships"), RELATIONSHIPS)
        if relationships is None:
            allowed = _listed(RELATIONSHIPS)
            return error(400, "bad_request", f"relationships must be a subset of {allowed}")
        include = _subset(body.get("include"), INCLUDES)
        if include is None:
            return error(400, "bad_request", f"include must be a subset of {_listed(INCLUDES)}")
        start = _cursor(request.path.partition("?")[2])
        if start is None:
            return error(400, "bad_request", "Invalid cursor")
        wanted = email.lower()
        matches = [
            c
            for c in self._contacts
            if c["email"].lower() == wanted
            and (not relationships or c["relationship"] in relationships)
        ]
        end = start + self._page_size
        has_next = end < len(matches)
        return ApiResponse(
            200,
            {
                "object": "list",
                "page_info": {
                    "next_page_url": f"{PATH}?cursor={end}" if has_next else None,
                    "previous_page_url": (
                        f"{PATH}?cursor={max(0, start - self._page_size)}" if start else None
                    ),
                    "has_next_page": has_next,
                    "has_prev_page": start > 0,
                },
                "data": [self._match(c, include) for c in matches[start:end]],
            },
        )

    def _match(self, contact: dict[str, Any], include: frozenset[str]) -> dict[str, Any]:
        created = self._created_at
        stamps = {"created_at": created, "updated_at": created}
        account_user = None
        if include:  # account_user.user and account_user.role expand account_user as well
            role = {"object": "role", "owner": None, "permissions": [], **contact["role"], **stamps}
            user = {
                "object": "user",
                "email_verified_at": None,
                "image_url": None,
                "last_used_at": None,
                **contact["user"],
                **stamps,
            }
            account_user = {
                "id": contact["id"],
                "object": "account_user",
                "status": contact["account_user_status"],
                "role": role if "account_user.role" in include else None,
                "department": None,
                "user": user if "account_user.user" in include else None,
                **stamps,
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
                **stamps,
            },
        }


def _fingerprint(request: ApiRequest) -> tuple[str, Any]:
    """Path and body; bodies compare as JSON, so neither key order nor spacing matters."""
    try:
        return request.path, request.json()
    except ValueError:
        return request.path, request.body


def _cursor(query: str) -> int | None:
    """The offset a cursor stands for: 0 without one, None when it is not one of ours."""
    values = parse_qs(query).get("cursor") if query else None
    if not values:
        return 0
    return int(values[0]) if values[0].isdigit() else None


def _subset(value: Any, allowed: frozenset[str]) -> frozenset[str] | None:
    """An optional list of allowed strings; empty when absent, None when invalid."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    chosen = frozenset(value)
    return chosen if chosen <= allowed else None


def _listed(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))
