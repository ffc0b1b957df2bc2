"""OpenMRP's idempotency middleware (internal/middleware/idempotency_middleware.go): a request
with an Idempotency-Key gets what the key answered first (its 4xx too); the same key with other
parameters is refused, and so is a key whose first request is still in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from local.stand_ins.sales_requests import PATH, request_fingerprint
from local.stand_ins.sandbox_messages import ApiRequest, ApiResponse

MAX_IDEMPOTENCY_KEY_CHARS = 255  # OpenMRP's conventions; the gateway's check was not found

# The sandbox's error envelope: (status, code, message, **fields) -> the answer.
ErrorAnswer = Callable[..., ApiResponse]


@dataclass
class _Stored:
    fingerprint: str
    response: ApiResponse | None = None  # None while the first request is in flight


class IdempotencyKeys:
    def __init__(self, error: ErrorAnswer) -> None:
        self._error = error
        self._stored: dict[str, _Stored] = {}  # idempotency scope -> what the key answered
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._stored.clear()

    def answer(
        self, request: ApiRequest, caller: str | None, endpoint: Callable[[], ApiResponse]
    ) -> ApiResponse:
        """The endpoint's answer, run once per key and replayed after."""
        key = request.headers.get("idempotency-key")
        if not key:
            return endpoint()
        if len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
            message = f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters."
            return self._error(400, "invalid_format", message, param="Idempotency-Key")
        scope = "\x1f".join(
            (caller or "", request.headers.get("openmrp-account", ""), "POST", PATH, key)
        )
        fingerprint = request_fingerprint(request)
        with self._lock:
            stored = self._stored.get(scope)
            if stored is None:
                self._stored[scope] = _Stored(fingerprint)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                message = (
                    f"Idempotency key '{key}' was used with different request parameters; "
                    "use a new key."
                )
                return self._error(400, "validation_failed", message, idempotency=True)
            if stored.response is None:
                message = f"Request for the idempotency key '{key}' is already being processed."
                return self._error(409, "idempotency_in_progress", message)
            first = stored.response
            return ApiResponse(first.status, first.body, {"Idempotent-Replayed": "true"})
        response = endpoint()
        # The gateway releases a key after 429 and 5xx answers; the endpoint here never gives
        # one (fault steps answer before this layer, so a retry with their key runs again).
        with self._lock:
            self._stored[scope].response = response
        return response
