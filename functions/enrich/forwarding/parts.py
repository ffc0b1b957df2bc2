"""What forwarding takes (pipeline.py, outage_waits.py): built once per container by runtime.py,
handed to every intake that forwards. It holds the settings' values forwarding reads, not the
settings: what a stage depends on is what it is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the ledger is imported only with IDEMPOTENCY_TABLE
    from forwarding.ledger import DeliveryLedger
    from forwarding.queue_sender import QueueSender
    from forwarding.recovery_wakeups import RecoveryWakeups
    from lookups.enricher import Enricher
    from lookups.partial_answers import PartialAnswers


@dataclass(frozen=True, slots=True)
class ForwardingParts:
    enricher: Enricher  # both APIs at once
    sender: QueueSender  # the output queue
    relationship_precedence: tuple[str, ...]  # RELATIONSHIP_PRECEDENCE
    fifo: bool  # the output queue is a FIFO queue
    # How long a queue's record may wait out an API's outage (LOOKUP_RETRY_WINDOW_SECONDS), and
    # the intake queue's maxReceiveCount (INTAKE_MAX_RECEIVE_COUNT): outage_waits.py.
    retry_window_seconds: float
    max_receive_count: int
    # With IDEMPOTENCY_TABLE: duplicate-delivery protection; what one API answered for a record
    # waiting for the other; records waiting out an outage, woken when their API answers again.
    ledger: DeliveryLedger | None = None
    answers: PartialAnswers | None = None
    wakeups: RecoveryWakeups | None = None
