"""The one place where what went wrong becomes an answer: a status, a code and a message.

Checks raise their own errors (checks/check_failures.py) that say what is wrong; the intakes
raise a Refusal for what they find themselves (a malformed event, a body too large). What became
of an accepted delivery (forwarded, in progress, an id reused, unavailable) is answered by
intake/outcome_answers.py. Both
become a Refusal here: HTTP answers it (intake/http.py), a batch reports its code for the record
(intake/sqs.py), EventBridge and direct invokes raise it (app.py). Refusals are made per raise,
never kept at module level: an exception raised again keeps every traceback it went through.
"""

from __future__ import annotations

from checks.check_failures import CheckFailed, Reason
from platform_services.observability import logger

# The documented answers (DESIGN.md's HTTP table, docs/how-it-works.md).
STATUS_AND_CODE: dict[Reason, tuple[int, str]] = {
    Reason.MALFORMED: (400, "bad_request"),
    Reason.UNSUPPORTED_MEDIA_TYPE: (415, "unsupported_media_type"),
    Reason.NOT_PROVEN: (401, "unauthorized"),
    Reason.UNVERIFIABLE: (503, "unavailable"),
    Reason.NO_EMAIL: (422, "no_email"),
}


class Refusal(Exception):
    """An answer that refuses an event; the message is safe to send back to the caller."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


def refusal_for(error: Refusal | CheckFailed) -> Refusal:
    """The answer to a failed check (its diagnosis logged for the operator), or the refusal as
    it is."""
    if isinstance(error, Refusal):
        return error
    if error.diagnosis:
        log = logger.error if error.misconfigured else logger.warning
        log(error.diagnosis, extra=error.details or None)
    status, code = STATUS_AND_CODE[error.reason]
    return Refusal(status, code, error.message)


def malformed(message: str) -> Refusal:
    """An event that is not what its source sends (or a body not what it claims)."""
    return Refusal(400, "bad_request", message)


def method_not_allowed() -> Refusal:
    return Refusal(405, "method_not_allowed", "webhooks are delivered with POST")


def body_too_large(max_bytes: int) -> Refusal:
    return Refusal(413, "payload_too_large", f"the body is larger than {max_bytes} bytes")


def too_large_to_queue() -> Refusal:
    return Refusal(
        413,
        "payload_too_large",
        "the submission, once enriched, would exceed the queue's 1 MiB message limit",
    )


def not_signed_by_the_edge() -> Refusal:
    return Refusal(401, "unauthorized", "the intake signature matches no current key")


def secret_unreadable() -> Refusal:
    return Refusal(503, "unavailable", "the webhook secret cannot be read; retry later")
