"""What became of each delivery an invocation was given: forwarded, a duplicate, or why not.

The codes are one vocabulary for every source; what each source answers for them (an HTTP
status, a failed SQS record, a raised invoke) is intake/outcome_answers.py's table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeCode(StrEnum):
    """An outcome, or why a delivery is not (yet) on its queue. A str: the value is what logs,
    failed records and error messages have always carried."""

    FORWARDED = "forwarded"  # on its queue now (queued mode: the intake queue)
    DUPLICATE = "duplicate"  # forwarded by an earlier delivery: nothing was sent this time
    IN_PROGRESS = "in_progress"  # another invocation is forwarding the same delivery right now
    # The sender's id already names other content from the same sender (IDEMPOTENCY_TABLE only).
    ID_REUSED = "id_reused"
    # Not sent, so that its queue delivers it again later: a lookup had to wait (rate limit,
    # pacing) longer than the invocation had left, or the batch ran out of time before its turn.
    HANDED_BACK = "handed_back"
    NOT_SERIALISABLE = "not_serialisable"  # not strict JSON: a defect, since intake enforces it
    TOO_LARGE = "message_too_large"  # over SQS's message limit: a failure no retry can mend
    # The queue's send could not start (NOT_SENT: nothing of it reached SQS) or end in time.
    NOT_SENT = "not_sent"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    TIMEOUT = "timeout"  # SQS did not answer within the client's timeouts
    UNREACHABLE = "unreachable"  # no connection to SQS
    REJECTED = "rejected"  # an entry SendMessageBatch failed without naming a code
    # The queue refused the message or could not be reached: the sender should retry. Also the
    # code of an SQS error code (a ClientError's, a Failed entry's), which is kept as the reason.
    UNAVAILABLE = "unavailable"
    SIGNING_KEY_UNAVAILABLE = "signing_key_unavailable"  # queued mode cannot sign what it queues
    # An SQS record the intake could not read: its signing key unreadable, or nothing foreseen.
    SECRET_UNAVAILABLE = "secret_unavailable"  # noqa: S105 (a reason, not a secret)
    UNREADABLE = "unreadable"


# What the duplicate check answers for a delivery it has met before (forwarding/claims.py).
MET_BEFORE = frozenset({OutcomeCode.DUPLICATE, OutcomeCode.IN_PROGRESS, OutcomeCode.ID_REUSED})


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    status: str | None  # the enrichment status; None when the delivery was not processed here
    # Why the event is not (yet) on the queue: an OutcomeCode, or the queue's own error code.
    failure: str | None = None
    duplicate: bool = False  # forwarded by an earlier delivery: nothing was sent this time
    # HANDED_BACK for a known wait (a rate limit, the fleet's schedule): seconds until it is
    # worth trying again, what its queue keeps it for; None: the queue's own visibility timeout.
    wait: float | None = None
    # The APIs whose outage it waits out: woken when one answers again (recovery_wakeups.py).
    outage: tuple[str, ...] = ()

    @property
    def forwarded(self) -> bool:
        return self.failure is None

    @property
    def code(self) -> OutcomeCode:
        """The outcome in the one vocabulary; an SQS error code is UNAVAILABLE."""
        if self.failure is None:
            return OutcomeCode.DUPLICATE if self.duplicate else OutcomeCode.FORWARDED
        try:
            return OutcomeCode(self.failure)
        except ValueError:
            return OutcomeCode.UNAVAILABLE

    def answer(self) -> dict[str, str | None]:
        return {"event_id": self.event_id, "status": self.status}
