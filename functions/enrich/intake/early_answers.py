"""Answers for an invocation that starts with too little time left to do anything useful:
checked before the container's Runtime is built or any intake is imported, which on a cold
start cost more than such an invocation has (README, "Every AWS call ends before the function
does"). Each source gets the answer that makes its sender retry, and nothing is sent:

    HTTP             503 `unavailable`
    SQS batch        every record in batchItemFailures (SQS delivers them again)
    EventBridge,
    direct invoke    TooLittleTime raised (Lambda retries an asynchronous invoke)
"""

from __future__ import annotations

import json
from typing import Any

from intake.event_sources import SourceKind
from platform_services.deadlines import ANSWER_MARGIN_SECONDS, LambdaContextLike

# Building the Runtime (botocore session and clients, pools) and importing the HTTP intake on a
# container's first invocation: about 80 + 60 ms on a full core (measured), so about 0.5 s at
# the template's 512 MB, which gets under a third of a core.
BUILD_RESERVE_SECONDS = 0.5


class TooLittleTime(Exception):
    """Raised instead of starting work that could not end before the invocation's timeout."""


def too_little_time(context: LambdaContextLike | None, *, runtime_built: bool) -> float | None:
    """The seconds left, when they are too few to start; None otherwise."""
    if context is None:
        return None
    remaining = context.get_remaining_time_in_millis() / 1000
    needed = ANSWER_MARGIN_SECONDS + (0.0 if runtime_built else BUILD_RESERVE_SECONDS)
    return remaining if remaining < needed else None


def answer(kind: SourceKind, event: Any) -> dict[str, Any]:
    """The answer that makes the sender retry; raises TooLittleTime for EventBridge and direct
    invokes, whose only way to ask for a retry is an error."""
    if kind == "http":
        message = "too little time was left to handle the request; please retry"
        return {
            "statusCode": 503,
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"error": {"code": "unavailable", "message": message}}),
            "isBase64Encoded": False,
        }
    if kind == "sqs":
        records = event.get("Records") if isinstance(event, dict) else None
        ids = [r.get("messageId") for r in records or [] if isinstance(r, dict)]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids if isinstance(i, str)]}
    raise TooLittleTime("too little time was left to handle the event; retry it")
