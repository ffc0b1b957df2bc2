"""Queued mode's parts (INTAKE_QUEUE_URL), built together or not at all: the HTTP edge receives
them as one object (HttpIntakeParts.queued), rather than testing each optional part."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the ledger only with IDEMPOTENCY_TABLE (Powertools idempotency is not cheap)
    from forwarding.ledger import DeliveryLedger
    from forwarding.queue_sender import QueueSender
    from intake.queued_signatures import IntakeSigning


class QueuedMode:
    """A plain class: a dataclass or a NamedTuple costs a cold start 0.5-1 ms to define."""

    __slots__ = ("acceptances", "intake", "signing")

    def __init__(
        self, intake: QueueSender, signing: IntakeSigning, acceptances: DeliveryLedger | None
    ) -> None:
        self.intake = intake  # where accepted webhooks wait to be enriched
        self.signing = signing  # signs them, so that the SQS intake tells them from forgeries
        self.acceptances = acceptances  # with IDEMPOTENCY_TABLE: queued once per delivery

    def close(self) -> None:
        self.intake.close()
        if self.acceptances is not None:
            self.acceptances.close()
