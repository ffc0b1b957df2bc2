"""How long this invocation may keep working before it must forward what it has."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

# Time kept back from lookups so that forwarding to SQS (with its own retries) always fits.
FORWARDING_RESERVE_SECONDS = 2.0
# Kept back from Lambda's own timeout: returning the answer and flushing the metrics.
ANSWER_MARGIN_SECONDS = 0.2
# And per record of a batch: reporting which records failed (Powertools' batch processor) and
# Lambda serialising that answer grow with the batch (about 5 µs a record on a full core, so
# about 20 µs at the template's 512 MB; this keeps more than twice that).
ANSWER_MARGIN_PER_RECORD_SECONDS = 0.00005
# Used when there is no Lambda context (scripts, direct calls in tests).
DEFAULT_BUDGET_SECONDS = 10.0


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Deadline:
    expires_at: float  # time.monotonic() seconds
    # For the lookups' deadline: when the invocation itself must have answered. Every AWS call
    # after the lookups (SQS, the duplicate check's bookkeeping) ends by then.
    answer_at: float | None = None

    @classmethod
    def in_seconds(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def for_lookups(cls, context: LambdaContextLike | None, records: int = 1) -> Deadline:
        """The remaining time less a reserve for forwarding (a third of it when time is short);
        the answer's margin, and the reserve with it, grow with the number of `records`."""
        now = time.monotonic()
        margin = ANSWER_MARGIN_SECONDS + max(0, records - 1) * ANSWER_MARGIN_PER_RECORD_SECONDS
        if context is None:
            lookups = DEFAULT_BUDGET_SECONDS
            return cls(now + lookups, now + lookups + FORWARDING_RESERVE_SECONDS)
        remaining = max(0.0, context.get_remaining_time_in_millis() / 1000)
        reserve = min(FORWARDING_RESERVE_SECONDS + margin - ANSWER_MARGIN_SECONDS, remaining / 3)
        answer = max(remaining - reserve, remaining - margin)
        return cls(now + remaining - reserve, now + answer)

    def for_answer(self) -> Deadline:
        """The invocation's own deadline, which this (lookup) deadline reserves time before."""
        if self.answer_at is None:
            return Deadline(self.expires_at + FORWARDING_RESERVE_SECONDS)
        return Deadline(self.answer_at)

    def less(self, seconds: float) -> Deadline:
        return Deadline(self.expires_at - seconds)

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def allows(self, seconds: float) -> bool:
        return time.monotonic() + seconds <= self.expires_at
