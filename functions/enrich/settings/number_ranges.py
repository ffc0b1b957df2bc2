"""Every number setting and the values it may take (README, Configuration)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NumberRange:
    """The values a number setting may take (README, Configuration): outside it, the function
    refuses to start, naming the variable."""

    minimum: float
    maximum: float
    whole: bool = False  # a count: 3 or 3.0, never 2.5

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {shown(self.minimum)} to {shown(self.maximum)}"


def shown(value: float) -> str:
    """As the README writes a range's ends: 0.05, 256, 6,291,456."""
    return f"{int(value):,}" if value.is_integer() else f"{value:g}"


# Every number setting and its range. The template's parameters allow the same ranges (or, for
# MAX_BODY_BYTES, a narrower one: deployed, the enriched event must fit in one SQS message).
NUMBER_RANGES = {
    # Each lookup attempt; the function's 15 s timeout leaves no use for a longer one.
    "HTTP_TIMEOUT_SECONDS": NumberRange(0.05, 10),
    "LOOKUP_MAX_ATTEMPTS": NumberRange(1, 10, whole=True),
    "LOOKUP_CACHE_TTL_SECONDS": NumberRange(0, 3600),
    # SQS holds a record back at most 12 hours per receive (ChangeMessageVisibility).
    "LOOKUP_RETRY_WINDOW_SECONDS": NumberRange(0, 43_200),
    # SQS's own range for a redrive policy's maxReceiveCount.
    "INTAKE_MAX_RECEIVE_COUNT": NumberRange(1, 1000, whole=True),
    # Worker threads per API and connections per pool: each one costs memory in every container.
    "MAX_CONCURRENCY": NumberRange(1, 256, whole=True),
    # Lambda takes at most 6 MiB in a synchronous invocation: no larger body can arrive.
    "MAX_BODY_BYTES": NumberRange(1, 6_291_456, whole=True),
    "SALES_API_MAX_RPS": NumberRange(0, 10_000),
    "MINIMO_API_MAX_RPS": NumberRange(0, 10_000),
    # The most containers that may pace themselves at once when PACING_TABLE cannot be used.
    "PACING_FALLBACK_CONTAINERS": NumberRange(1, 10_000, whole=True),
}
