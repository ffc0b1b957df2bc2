"""Queued mode's parts (INTAKE_QUEUE_URL), built together or not at all: the HTTP edge receives
them as one object, rather than testing each of the Runtime's optional parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from forwarding.queue_sender import QueueSender
from intake.queued_signatures import IntakeSigning

if TYPE_CHECKING:  # imported only with IDEMPOTENCY_TABLE (Powertools idempotency is not cheap)
    from forwarding.ledger import DeliveryLedger


@dataclass(frozen=True, slots=True)
class QueuedMode:
    intake: QueueSender  # where accepted webhooks wait to be enriched
    signing: IntakeSigning  # signs them, so that the SQS intake can tell them from forgeries
    # With IDEMPOTENCY_TABLE: a webhook delivered twice is queued once.
    acceptances: DeliveryLedger | None

    def close(self) -> None:
        self.intake.close()
        if self.acceptances is not None:
            self.acceptances.close()
