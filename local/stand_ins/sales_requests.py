"""How OpenMRP's gateway reads a find-by-email request: the caller's key, the query's array
forms, the JSON body (unknown fields refused), and the fingerprint an Idempotency-Key is held to.
The paths in the docstrings name the files of github.com/open-mrp/api they were read from."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl

from local.stand_ins.sandbox_messages import ApiRequest, ApiResponse

PATH = "/v1/sales/contacts/actions/find-by-email"
RELATIONSHIPS = ("customer", "supplier", "self")
INCLUDES = (
    "account_user",
    "account_user.user",
    "account_user.role",
    "account_user.department",
    "account",
)


def bearer_token(request: ApiRequest) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme == "Bearer" and token else None


def include_values(query: list[tuple[str, str]]) -> list[str]:
    """`include` and `include[]`: every value split on commas, trimmed, empty parts dropped."""
    values = [v for k, v in query if k in ("include", "include[]")]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def relationship_values(query: list[tuple[str, str]]) -> list[str]:
    """`relationships` and `relationships[]` together; one value alone is split on commas."""
    values = [v for k, v in query if k in ("relationships", "relationships[]")]
    if len(values) == 1:
        return values[0].split(",")
    return values


def decode_body(request: ApiRequest) -> dict[str, Any] | ApiResponse:
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
        message = f"Invalid JSON in request body: cannot decode {json_type(body)} into an object"
        return _bad("validation_failed", message)
    for name in body:
        if name != "email":
            hint = " Did you mean 'email'?" if _distance(name, "email") <= 3 else ""
            message = f"Invalid JSON in request body: unknown field '{name}'.{hint}"
            return _bad("parameter_unknown", message, param=name)
    return body


def _bad(code: str, message: str, param: str | None = None) -> ApiResponse:
    return ApiResponse(400, {"error": {"code": code, "message": message, "param": param}})


def request_fingerprint(request: ApiRequest) -> str:
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


def json_type(value: Any) -> str:
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
