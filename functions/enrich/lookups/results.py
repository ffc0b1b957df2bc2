"""What one API lookup answered, in the shape the enriched event carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

LookupStatus = Literal["found", "not_found", "error", "skipped"]

# Our own codes for failures that retrying will not mend: the deployment's keys are wrong.
CONFIGURATION_ERROR_CODES = frozenset({"missing_api_key", "secret_unavailable"})


@dataclass(frozen=True, slots=True)
class LookupFailure:
    code: str  # the API's own error code where it sent one, else ours
    message: str
    param: str | None = None  # the request parameter the API blamed, if any
    # Retrying cannot mend it and every lookup will fail alike: keys, permissions, API version,
    # parameters the API does not accept. Counted in LookupConfigErrors (alarmed).
    configuration: bool = False
    # The lookup only had to wait (a rate limit, our own pacing, a key still in flight) longer
    # than this invocation had left. A queue can retry it later; it is not a failure of the API.
    deferrable: bool = False
    # For a deferrable failure: seconds until trying again is worth it, when known.
    retry_after: float | None = None
    # The API (or the way to it) failed in a way that passes: 5xx, a timeout, a broken
    # connection, a 429 without a usable Retry-After. A queued record waits it out.
    transient: bool = False

    @property
    def is_configuration_error(self) -> bool:
        return self.configuration or self.code in CONFIGURATION_ERROR_CODES

    def to_dict(self) -> dict[str, str]:
        failure = {"code": self.code, "message": self.message}
        if self.param:
            failure["param"] = self.param
        return failure

    def log_fields(self) -> dict[str, str]:
        """What logs may carry: an API's message can quote the address, so it stays out."""
        fields = {"code": self.code}
        if self.param:
            fields["param"] = self.param
        return fields


class LookupFailed(Exception):
    """Raised inside a client; turned into an `error` result before it leaves the client."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.failure = LookupFailure(code, message, **details)


@dataclass(frozen=True, slots=True)
class MinimoResult:
    status: LookupStatus
    contact: dict[str, Any] | None = None
    error: LookupFailure | None = None

    @property
    def contact_id(self) -> Any:
        return self.contact.get("id") if self.contact else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "contact": self.contact,
            "error": self.error.to_dict() if self.error else None,
        }


@dataclass(frozen=True, slots=True)
class SalesMatch:
    id: str | None
    relationship: str | None
    account_id: str | None
    account_name: str | None
    account_user_status: str | None = None

    @property
    def counts(self) -> bool:
        """A removed account user is soft-deleted, like a deleted Minimo contact."""
        return self.account_user_status != "removed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "relationship": self.relationship,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "account_user_status": self.account_user_status,
        }


@dataclass(frozen=True, slots=True)
class SalesResult:
    status: LookupStatus
    matches: tuple[SalesMatch, ...] = field(default=())
    error: LookupFailure | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "matches": [match.to_dict() for match in self.matches],
            "error": self.error.to_dict() if self.error else None,
        }
