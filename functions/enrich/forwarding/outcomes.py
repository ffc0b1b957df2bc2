"""What became of each delivery an invocation was given: forwarded, a duplicate, or why not."""

from __future__ import annotations

from dataclasses import dataclass

IN_PROGRESS = "in_progress"  # another invocation is forwarding the same delivery right now
# The sender's id already names other content from the same sender (IDEMPOTENCY_TABLE only).
ID_REUSED = "id_reused"
# Not sent, so that its queue delivers it again later: a lookup had to wait (rate limit, pacing)
# longer than the invocation had left, or the batch ran out of time before the event's turn.
HANDED_BACK = "handed_back"


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    status: str | None  # the enrichment status; None when the delivery was not processed here
    failure: str | None = None  # why the event is not (yet) on the queue
    duplicate: bool = False  # forwarded by an earlier delivery: nothing was sent this time
    # HANDED_BACK for a known wait (a rate limit, the fleet's schedule): seconds until it is
    # worth trying again, what its queue keeps it for; None: the queue's own visibility timeout.
    wait: float | None = None
    # The APIs whose outage it waits out: woken when one answers again (recovery_wakeups.py).
    outage: tuple[str, ...] = ()

    @property
    def forwarded(self) -> bool:
        return self.failure is None

    def answer(self) -> dict[str, str | None]:
        return {"event_id": self.event_id, "status": self.status}
