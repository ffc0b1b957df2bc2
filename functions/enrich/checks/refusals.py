"""A submission the function will not accept, with the HTTP status and code it answers."""

from __future__ import annotations


class Refusal(Exception):
    """Raised before anything is forwarded; the message is safe to send back to the caller."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}
