"""The sales API as OpenMRP's gateway serves it: POST /v1/sales/contacts/actions/find-by-email.

Every rule here was read from OpenMRP's published source (github.com/open-mrp/api; the paths
name where) and is written up in docs/sales-api.md; tests/integration/test_sandbox_apis.py pins
the sandbox to it. The gateway's order, outermost first
(services/api-gateway/internal/router/init_groups.go):

  route (404 / 405, before anything else) → rate limit (429) → credentials (401 for a key that
  is present but wrong; none at all passes on as anonymous) → OpenMRP-Version (400) →
  Idempotency-Key → the endpoint: permission (401 anonymous, 403 without customers:read),
  query keys, `include`, the JSON body, `relationships`, `email`.

Off the document's first page: the body is `{"email"}` alone (unknown fields are refused),
`relationships` and `include` are query parameters in any of three array forms, only active
account users are returned, the list never paginates (pagination is an opt-in fault here:
PUT /__sandbox/pagination {"page_size": 2}), and `account` is expanded for your own account
(`self`) only, as OpenMRP's end-to-end tests record for today's gateway.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from local.stand_ins.sales_errors import FAULT_CODES, sales_error
from local.stand_ins.sales_idempotency import IdempotencyKeys
from local.stand_ins.sales_matches import contact_match, paged
from local.stand_ins.sales_requests import (
    INCLUDES,
    PATH,
    RELATIONSHIPS,
    bearer_token,
    decode_body,
    include_values,
    json_type,
    relationship_values,
)
from local.stand_ins.sandbox_control_routes import CONTROL_ROUTES, ControlRoute
from local.stand_ins.sandbox_messages import ApiRequest, ApiResponse, is_email
from local.stand_ins.sandbox_rate_limit import RateLimitSettings
from local.stand_ins.sandbox_server import SandboxServer

# shared/version/version.go; the TypeScript SDK pins the newest, the Go SDK preview.5.
SUPPORTED_VERSIONS = tuple(f"1.0.forge-preview.{n}" for n in range(8, 0, -1))
LATEST_VERSION = SUPPORTED_VERSIONS[0]
# What the SDKs send when no key is configured: a hint the gateway answers with.
_PLACEHOLDER_TOKENS = ("undefined", "None", "null")


@dataclass
class _SalesRequest:
    """What the pipeline learned about a request on its way through."""

    caller: str | None = None  # the key, when it authenticated
    version: str | None = None
    query: list[tuple[str, str]] = field(default_factory=list)


def _set_pagination(sandbox: SalesSandbox, data: Any) -> ApiResponse:
    sandbox.set_page_size(data["page_size"])
    return ApiResponse(200, {"page_size": data["page_size"]})


class SalesSandbox(SandboxServer):
    control_routes = (
        *CONTROL_ROUTES,
        ControlRoute(
            "PUT",
            "pagination",
            "splits answers into pages (the real API never does): the function must follow them",
            _set_pagination,  # type: ignore[arg-type]
            examples=(("pages of 2 matches", {"page_size": 2}), ("no pages", {"page_size": None})),
        ),
    )

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(RateLimitSettings(**data.get("rate_limit", {})))
        self._key = data["api_key"]
        # Authenticates, but its role lacks customers:read.
        self._forbidden_key = data.get("forbidden_api_key")
        self._created_at = data.get("created_at", "2026-01-01T00:00:00Z")
        self._contacts = data["contacts"]
        self._page_size: int | None = None
        self._idempotency_keys = IdempotencyKeys(self.error)

    def reset(self) -> None:
        super().reset()
        self._page_size = None
        self._idempotency_keys.reset()

    def set_page_size(self, size: int | None) -> None:
        """Splits lists into pages of `size` (None: the API's own behaviour, no pages)."""
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError("page_size must be a positive integer or null")
        self._page_size = size

    # --- errors ---------------------------------------------------------------------------------
    def error(self, status: int, code: str, message: str, **fields: Any) -> ApiResponse:
        return sales_error(status, code, message, **fields)

    def fault_error(self, status: int) -> ApiResponse:
        if status in FAULT_CODES:
            return self.error(status, *FAULT_CODES[status])
        return super().fault_error(status)

    # --- the pipeline ---------------------------------------------------------------------------
    def route(self, request: ApiRequest) -> ApiResponse | None:
        path, _, _ = request.path.partition("?")
        # The router answers these before any middleware: no rate limit, no version check.
        if path != PATH:
            message = f"The requested endpoint {request.method} {path} was not found."
            return _latest(self.error(404, "resource_not_found", message))
        if request.method != "POST":
            message = f"Method {request.method} not allowed for path {path}."
            return _latest(self.error(405, "method_not_allowed", message))
        query = parse_qsl(request.path.partition("?")[2], keep_blank_values=True)
        cursor = next((v for k, v in query if k == "cursor"), "0")
        if self._page_size and cursor.isdigit():
            request.page = int(cursor) // self._page_size + 1
        body = request.json_or_none()
        if isinstance(body, dict) and isinstance(body.get("email"), str):
            request.email = body["email"]  # fault scripts are matched on it
        return None

    def authorize(self, request: ApiRequest) -> ApiResponse | None:
        """Credentials, as the auth middleware checks them: a header that is there must name a
        valid key; no header at all goes on as an anonymous caller."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer":
            message = (
                "Invalid Authorization header format. "
                "Expected 'Basic <token>:' or 'Bearer <token>'."
            )
            return self.error(401, "invalid_credentials", message)
        if not token.strip() or token in _PLACEHOLDER_TOKENS:
            message = (
                "Invalid Authorization header format. You provided 'Bearer' but no token. "
                "You might have forgotten to setup your API key in your environment."
            )
            return self.error(401, "invalid_credentials", message)
        if token not in (self._key, self._forbidden_key):
            return self.error(401, "invalid_credentials", "Invalid API Key provided.")
        return None

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Past the rate limit (a 429 carries no version header: the limiter writes its status
        first). Every answer from here names the API version it was made with."""
        state = _SalesRequest(caller=bearer_token(request))
        response = self.authorize(request)
        request.authorized = response is None and state.caller == self._key
        response = response or self._versioned(request, state)
        response.headers.setdefault("OpenMRP-Version", state.version or LATEST_VERSION)
        response.headers.setdefault("Request-ID", f"rq_{secrets.token_hex(12)}")
        return response

    def answer(self, request: ApiRequest) -> ApiResponse:
        return self.handle(request)

    def _versioned(self, request: ApiRequest, state: _SalesRequest) -> ApiResponse:
        version = request.headers.get("openmrp-version")
        if not version:
            message = (
                "The OpenMRP-Version header is required. Please include a valid API version. "
                f"The latest version is {LATEST_VERSION}."
            )
            return self.error(400, "api_version_required", message)
        if version not in SUPPORTED_VERSIONS:
            supported = " ".join(SUPPORTED_VERSIONS)
            message = f"Invalid API version '{version}'. Supported versions: [{supported}]"
            return self.error(400, "api_version_invalid", message)
        state.version = version
        return self._idempotency_keys.answer(
            request, state.caller, lambda: self._find(request, state)
        )

    def _find(self, request: ApiRequest, state: _SalesRequest) -> ApiResponse:
        """pkg/endpoint/api_endpoint.go Execute, then the find-by-email service. The injected
        latency is the endpoint's own time, so an Idempotency-Key is in flight meanwhile."""
        self.sleep(self.latency)
        if state.caller is None:
            message = "You must be authenticated to access this resource."
            return self.error(401, "invalid_credentials", message)
        if state.caller == self._forbidden_key:
            message = (
                "API key sandbox-readonly does not have permission to customers:read. Their role "
                '"Read-only" (ID role_sandbox_readonly) does not grant it.'
            )
            return self.error(403, "insufficient_permissions", message)
        query = parse_qsl(request.path.partition("?")[2], keep_blank_values=True)
        allowed_keys = {"relationships", "relationships[]", "include", "include[]"}
        if self._page_size:
            allowed_keys.add("cursor")
        for name, _ in query:
            if name not in allowed_keys:
                message = f"Unknown query parameter '{name}'."
                return self.error(400, "parameter_unknown", message, param=name)
        include = include_values(query)
        for value in include:
            if value not in INCLUDES:
                message = f"Invalid include value '{value}'. Allowed values: {', '.join(INCLUDES)}"
                return self.error(400, "parameter_invalid", message, param="include[]")
        body = decode_body(request)
        if isinstance(body, ApiResponse):
            return self._sales_error(body)
        relationships = relationship_values(query)
        for value in relationships:
            if value not in RELATIONSHIPS:
                message = f"Field 'relationships' must be one of: {', '.join(RELATIONSHIPS)}"
                return self.error(400, "parameter_invalid", message, param="relationships")
        email = body.get("email")
        if email is None or email == "":
            return self.error(400, "missing_field", "Field 'email' is required.", param="email")
        if not isinstance(email, str):
            message = f"Invalid type for field 'email': expected string, got {json_type(email)}"
            return self.error(400, "invalid_format", message, param="email")
        if not is_email(email):
            message = "Field 'email' must be a valid email address."
            return self.error(400, "invalid_format", message, param="email")
        return self._list(email, frozenset(relationships), frozenset(include), query)

    def _sales_error(self, response: ApiResponse) -> ApiResponse:
        error = response.body["error"]
        return self.error(response.status, error["code"], error["message"], param=error["param"])

    def _list(
        self,
        email: str,
        relationships: frozenset[str],
        include: frozenset[str],
        query: list[tuple[str, str]],
    ) -> ApiResponse:
        wanted = email.lower()
        matches = [
            c
            for c in self._contacts
            if c["email"].lower() == wanted
            and c["account_user_status"] == "active"  # only active people are returned
            and (not relationships or c["relationship"] in relationships)
        ]
        page_info = {
            "next_page_url": None,
            "previous_page_url": None,
            "has_next_page": False,
            "has_prev_page": False,
        }
        if self._page_size:
            matches, page_info = paged(matches, query, self._page_size)
        return ApiResponse(
            200,
            {
                "object": "list",
                "page_info": page_info,
                "data": [contact_match(c, include, self._created_at) for c in matches],
            },
        )


def _latest(response: ApiResponse) -> ApiResponse:
    response.headers["OpenMRP-Version"] = LATEST_VERSION
    return response
