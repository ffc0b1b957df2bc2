"""OpenMRP's error envelope (shared/errors/api_error.go): every key present, null where it
does not apply, and the code a status alone stands for in a fault step."""

from __future__ import annotations

from typing import Any

from local.stand_ins.sandbox_messages import ApiResponse

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
FAULT_CODES = {
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


def sales_error(status: int, code: str, message: str, **fields: Any) -> ApiResponse:
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
