"""The duplicate check (IDEMPOTENCY_TABLE) as forwarding meets it: deliveries are claimed a few
at a time, just before their lookups, rather than the whole batch first. A batch larger than its
time so claims only what it gets to look up, and has nothing to take back for the rest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from checks.delivery import Delivery
from checks.delivery_ids import DeliveryKey
from forwarding.outcome_log import Unforwarded, log_reuse
from forwarding.outcomes import HANDED_BACK, ID_REUSED, IN_PROGRESS, Outcome
from platform_services.deadlines import Deadline
from platform_services.observability import Metric

if TYPE_CHECKING:  # imported only with IDEMPOTENCY_TABLE (Powertools idempotency is not cheap)
    from forwarding.ledger import DeliveryLedger


class DeliveryClaims:
    def __init__(
        self,
        ledger: DeliveryLedger,
        deadline: Deadline,
        answer_by: Deadline,
        *,
        hand_back_late: bool,
        tally: Counter[str],
        unforwarded: Unforwarded,
    ) -> None:
        self._ledger = ledger
        self._deadline = deadline  # the lookups': a claim is made before its lookups
        self._answer_by = answer_by
        self._hand_back_late = hand_back_late
        self._tally = tally
        self._unforwarded = unforwarded
        self._claimed: list[DeliveryKey] = []

    def admit(
        self, deliveries: Sequence[Delivery], outcomes: dict[DeliveryKey, Outcome]
    ) -> list[Delivery]:
        """The deliveries this invocation is to forward; the others get their outcome here:
        forwarded before (the first answer), in progress elsewhere, an id reused, or (with
        `hand_back_late`) left unclaimed for want of time."""
        if not deliveries:
            return []
        in_progress_ms = int(max(0.0, self._answer_by.remaining()) * 1000)
        claims = self._ledger.claim(deliveries, in_progress_ms, self._deadline)
        for key, answer in claims.answered.items():
            outcomes[key] = Outcome(key.event_id, answer.get("status"), duplicate=True)
        for key in claims.in_progress:
            outcomes[key] = Outcome(key.event_id, None, failure=IN_PROGRESS)
        for delivery in deliveries:
            if delivery.key in claims.reused:
                outcomes[delivery.key] = Outcome(delivery.event_id, None, failure=ID_REUSED)
                log_reuse(delivery)
        self._tally[Metric.DUPLICATE_DELIVERIES] += len(claims.answered) + len(claims.in_progress)
        self._tally[Metric.DELIVERY_IDS_REUSED] += len(claims.reused)
        admitted = claims.fresh
        if not self._hand_back_late:  # the sender is waiting: at least once beats never
            admitted = [*claims.fresh, *claims.late]
        else:
            for delivery in claims.late:  # nothing was claimed for them: they come back later
                outcomes[delivery.key] = Outcome(delivery.event_id, None, HANDED_BACK)
                self._unforwarded.hand_back(delivery, "time")
        self._claimed += [d.key for d in admitted]
        return admitted

    def settle(self, outcomes: dict[DeliveryKey, Outcome]) -> None:
        """Remembers what was forwarded; releases the other claims made here."""
        mine = [(key, outcomes[key]) for key in self._claimed if key in outcomes]
        self._ledger.settle(
            forwarded={key: o.answer() for key, o in mine if o.forwarded},
            failed=[key for key, o in mine if not o.forwarded],
            deadline=self._answer_by,
        )
