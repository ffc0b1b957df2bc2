"""How long this invocation may keep working before it must forward what it has."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

# Time kept back from lookups so that forwarding to SQS (with its own retries) always fits.
FORWARDING_RESERVE_SECONDS = 2.0
# Used when there is no Lambda context (scripts, direct calls in tests).
DEFAULT_BUDGET_SECONDS = 10.0


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Deadline:
    expires_at: float  # time.monotonic() seconds

    @classmethod
    def in_seconds(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def for_lookups(cls, context: LambdaContextLike | None) -> Deadline:
        """The remaining time less a reserve for forwarding (a third of it when time is short)."""
        if context is None:
            return cls.in_seconds(DEFAULT_BUDGET_SECONDS)
        remaining = max(0.0, context.get_remaining_time_in_millis() / 1000)
        return cls.in_seconds(remaining - min(FORWARDING_RESERVE_SECONDS, remaining / 3))

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def allows(self, seconds: float) -> bool:
        return time.monotonic() + seconds <= self.expires_at
