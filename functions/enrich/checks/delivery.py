"""One accepted submission, whichever source brought it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks.check_failures import EmailMissing
from checks.delivery_ids import DeliveryKey, delivery_key
from checks.email_extraction import EmailFinder, EmailMatch


@dataclass(frozen=True, slots=True)
class Delivery:
    event_id: str
    source: dict[str, Any]  # {"kind": "http" | "eventbridge" | "sqs" | "direct", ...}
    payload: Any
    email: EmailMatch | None
    received_at: str
    # Sender, id and content: what the duplicate check and the FIFO deduplication compare.
    key: DeliveryKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", delivery_key(self.event_id, self.source, self.payload))


def iso_timestamp(epoch_ms: float | None = None) -> str:
    """UTC, millisecond precision, `Z` suffix: `2026-11-22T10:00:00.120Z`."""
    moment = datetime.now(UTC) if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_delivery(
    payload: Any,
    *,
    event_id: str,
    source: dict[str, Any],
    finder: EmailFinder,
    require_email: bool,
    received_at: str | None = None,
) -> Delivery:
    """Finds the submitter's email; refuses the submission if it has none and one is required."""
    email = finder.find(payload)
    if email is None and require_email:
        raise EmailMissing("the submission carries no valid email address")
    return Delivery(event_id, source, payload, email, received_at or iso_timestamp())
