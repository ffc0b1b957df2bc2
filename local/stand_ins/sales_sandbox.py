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

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from local.stand_ins.sandbox_rate_limit import RateLimitSettings
from local.stand_ins.sandbox_server import (
    CONTROL_ROUTES,
    ApiRequest,
    ApiResponse,
    ControlRoute,
    SandboxServer,
    is_email,
)

PATH = "/v1/sales/contacts/actions/find-by-email"
RELATIONSHIPS = ("customer", "supplier", "self")
INCLUDES = (
    "account_user",
    "account_user.user",
    "account_user.role",
    "account_user.department",
    "account",
)
# shared/version/version.go; the TypeScript SDK pins the newest, the Go SDK preview.5.
SUPPORTED_VERSIONS = tuple(f"1.0.forge-preview.{n}" for n in range(8, 0, -1))
LATEST_VERSION = SUPPORTED_VERSIONS[0]
MAX_IDEMPOTENCY_KEY_CHARS = 255  # OpenMRP's conventions; the gateway's check was not found
# shared/errors/api_error.go: IsTransientError.
TRANSIENT_CODES = frozenset(
    {
        "internal_error",
        "service_unavailable",
        "external_service_error",
        "timeout",
        "connection_error",
        "request_timeout",
        "idempotency_in_progress",
        "rate_limit_exceeded",
    }
)
# What a fault step with only a status answers: GetHTTPStatusCode read backwards.
_FAULT_CODES = {
    400: ("validation_failed", "The request could not be validated."),
    401: ("invalid_credentials", "Invalid API Key provided."),
    403: ("insufficient_permissions", "You do not have permission to perform this action."),
    404: ("resource_not_found", "The requested resource was not found."),
    409: ("idempotency_in_progress", "Request for the idempotency key is already being processed."),
    429: ("rate_limit_exceeded", "Too many requests. Please try again later."),
    500: ("internal_error", "Something went wrong."),
    502: ("external_service_error", "An upstream service failed."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
    504: ("timeout", "The request timed out."),
}
# What the SDKs send when no key is configured: a hint the gateway answers with.
_PLACEHOLDER_TOKENS = ("undefined", "None", "null")


@dataclass
class _Stored:
    fingerprint: str
    response: ApiResponse | None = None  # None while the first request is in flight


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
        self._stored: dict[str, _Stored] = {}  # idempotency scope -> what the key answered
        self._stored_lock = threading.Lock()

    def reset(self) -> None:
        super().reset()
        self._page_size = None
        with self._stored_lock:
            self._stored.clear()

    def set_page_size(self, size: int | None) -> None:
        """Splits lists into pages of `size` (None: the API's own behaviour, no pages)."""
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError("page_size must be a positive integer or null")
        self._page_size = size

    # --- errors ---------------------------------------------------------------------------------
    def error(self, status: int, code: str, message: str, **fields: Any) -> ApiResponse:
        """OpenMRP's envelope: every key present, null where it does not apply."""
        if code in ("idempotency_in_progress",) or fields.pop("idempotency", False):
            kind = "idempotency_error"
        elif status >= 500:
            kind = "api_error"
        else:
            kind = "invalid_request_error"
        body = {
            "error": {
                "code": code,
                "type": kind,
                "message": message,
                "param": fields.pop("param", None),
                "doc_url": f"https://docs.openmrp.ai/api/errors#{code}",
                "is_transient": code in TRANSIENT_CODES,
                "quota": None,
                "request_log_url": None,
            }
        }
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        return ApiResponse(status, body, headers)

    def fault_error(self, status: int) -> ApiResponse:
        if status in _FAULT_CODES:
            return self.error(status, *_FAULT_CODES[status])
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
        state = _SalesRequest(caller=_bearer(request))
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
        return self._idempotent(request, state)

    def _idempotent(self, request: ApiRequest, state: _SalesRequest) -> ApiResponse:
        """internal/middleware/idempotency_middleware.go: replay what the key answered (its
        4xx too), refuse reuse with other parameters, and a key still in flight."""
        key = request.headers.get("idempotency-key")
        if not key:
            return self._find(request, state)
        if len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
            message = f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters."
            return self.error(400, "invalid_format", message, param="Idempotency-Key")
        scope = "\x1f".join(
            (state.caller or "", request.headers.get("openmrp-account", ""), "POST", PATH, key)
        )
        fingerprint = _fingerprint(request)
        with self._stored_lock:
            stored = self._stored.get(scope)
            if stored is None:
                self._stored[scope] = _Stored(fingerprint)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                message = (
                    f"Idempotency key '{key}' was used with different request parameters; "
                    "use a new key."
                )
                return self.error(400, "validation_failed", message, idempotency=True)
            if stored.response is None:
                message = f"Request for the idempotency key '{key}' is already being processed."
                return self.error(409, "idempotency_in_progress", message)
            first = stored.response
            return ApiResponse(first.status, first.body, {"Idempotent-Replayed": "true"})
        response = self._find(request, state)
        # The gateway releases a key after 429 and 5xx answers; the endpoint here never gives
        # one (fault steps answer before this layer, so a retry with their key runs again).
        with self._stored_lock:
            self._stored[scope].response = response
        return response

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
        include = _include_values(query)
        for value in include:
            if value not in INCLUDES:
                message = f"Invalid include value '{value}'. Allowed values: {', '.join(INCLUDES)}"
                return self.error(400, "parameter_invalid", message, param="include[]")
        body = _decode_body(request)
        if isinstance(body, ApiResponse):
            return self._sales_error(body)
        relationships = _relationship_values(query)
        for value in relationships:
            if value not in RELATIONSHIPS:
                message = f"Field 'relationships' must be one of: {', '.join(RELATIONSHIPS)}"
                return self.error(400, "parameter_invalid", message, param="relationships")
        email = body.get("email")
        if email is None or email == "":
            return self.error(400, "missing_field", "Field 'email' is required.", param="email")
        if not isinstance(email, str):
            message = f"Invalid type for field 'email': expected string, got {_json_type(email)}"
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
            matches, page_info = self._page(matches, query)
        return ApiResponse(
            200,
            {
                "object": "list",
                "page_info": page_info,
                "data": [self._match(c, include) for c in matches],
            },
        )

    def _page(
        self, matches: list[dict[str, Any]], query: list[tuple[str, str]]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The opt-in pagination fault: relative page links that carry the query along."""
        size = self._page_size or len(matches)
        cursor = next((v for k, v in query if k == "cursor"), "0")
        start = int(cursor) if cursor.isdigit() else 0
        rest = [(k, v) for k, v in query if k != "cursor"]

        def link(offset: int) -> str:
            return f"{PATH}?{urlencode([*rest, ('cursor', str(offset))])}"

        end = start + size
        return matches[start:end], {
            "next_page_url": link(end) if end < len(matches) else None,
            "previous_page_url": link(max(0, start - size)) if start else None,
            "has_next_page": end < len(matches),
            "has_prev_page": start > 0,
        }

    def _match(self, contact: dict[str, Any], include: frozenset[str]) -> dict[str, Any]:
        created = self._created_at
        stamps = {"created_at": created, "updated_at": created}
        account_user = None
        if any(i.startswith("account_user") for i in include):
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
        account = None
        # OpenMRP expands `account` only for your own account today (BatchGetAccountsByIDs
        # filters to the caller's account; its e2e tests record it).
        if "account" in include and contact["relationship"] == "self":
            account = {
                **contact["account"],
                "object": "account",
                "default_billing_address": None,
                "default_shipping_address": None,
                "branding": None,
                "portal": None,
                **stamps,
            }
        return {
            "id": contact["id"],
            "object": "contact_match",
            "relationship": contact["relationship"],
            "email": contact["email"],
            "account_user": account_user,
            "account": account,
        }


def _latest(response: ApiResponse) -> ApiResponse:
    response.headers["OpenMRP-Version"] = LATEST_VERSION
    return response


def _bearer(request: ApiRequest) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme == "Bearer" and token else None


def _include_values(query: list[tuple[str, str]]) -> list[str]:
    """`include` and `include[]`: every value split on commas, trimmed, empty parts dropped."""
    values = [v for k, v in query if k in ("include", "include[]")]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _relationship_values(query: list[tuple[str, str]]) -> list[str]:
    """`relationships` and `relationships[]` together; one value alone is split on commas."""
    values = [v for k, v in query if k in ("relationships", "relationships[]")]
    if len(values) == 1:
        return values[0].split(",")
    return values


def _decode_body(request: ApiRequest) -> dict[str, Any] | ApiResponse:
    """internal/http/handler.go DecodeJSONInto: unknown fields disallowed. The error answers
    carry the minimal envelope; the caller rebuilds them in the API's own."""
    if not request.body:  # nothing to decode: validation reports the missing email
        return {}
    try:
        body = json.loads(request.body)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return _bad("validation_failed", "unexpected extra JSON after request body")
        message = f"Invalid JSON in request body at offset {exc.pos + 1}: {exc.msg}"
        return _bad("validation_failed", message)
    except ValueError:
        return _bad("validation_failed", "Invalid JSON in request body.")
    if not isinstance(body, dict):
        message = f"Invalid JSON in request body: cannot decode {_json_type(body)} into an object"
        return _bad("validation_failed", message)
    for name in body:
        if name != "email":
            hint = " Did you mean 'email'?" if _distance(name, "email") <= 3 else ""
            message = f"Invalid JSON in request body: unknown field '{name}'.{hint}"
            return _bad("parameter_unknown", message, param=name)
    return body


def _bad(code: str, message: str, param: str | None = None) -> ApiResponse:
    return ApiResponse(400, {"error": {"code": code, "message": message, "param": param}})


def _fingerprint(request: ApiRequest) -> str:
    """shared/idempotency/hash.go: the body as canonical JSON (raw bytes if it is not JSON),
    then the query's keys in order, with the first value of each."""
    try:
        body = json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        body = request.body.decode("latin-1")
    first: dict[str, str] = {}
    for name, value in parse_qsl(request.path.partition("?")[2], keep_blank_values=True):
        first.setdefault(name, value)
    query = "&".join(f"{k}={first[k]}" for k in sorted(first))
    return hashlib.sha256(f"{body}\x1f{query}".encode()).hexdigest()


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, for the gateway's "Did you mean" hint."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
