"""What one API lookup answered, in the shape the enriched event carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

LookupStatus = Literal["found", "not_found", "error", "skipped"]

# Failures that retrying will not mend: the deployment's keys or permissions are wrong.
CONFIGURATION_ERROR_CODES = frozenset(
    {"unauthorized", "forbidden", "missing_api_key", "secret_unavailable"}
)


@dataclass(frozen=True, slots=True)
class LookupFailure:
    code: str
    message: str

    @property
    def is_configuration_error(self) -> bool:
        return self.code in CONFIGURATION_ERROR_CODES

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class LookupFailed(Exception):
    """Raised inside a client; turned into an `error` result before it leaves the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.failure = LookupFailure(code, message)


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
