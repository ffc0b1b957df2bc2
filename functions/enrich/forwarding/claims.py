"""The duplicate-delivery protocol (IDEMPOTENCY_TABLE), the one every path takes: claim, send,
settle. Forwarding claims deliveries a few at a time, just before their lookups, rather than the
whole batch first (a batch larger than its time so claims only what it gets to look up, and has
nothing to take back for the rest); queued mode claims a webhook before putting it on the intake
queue. Either way:

    admit   claims each delivery; those met before get their outcome here: DUPLICATE (with the
            first answer), IN_PROGRESS (another invocation has it), ID_REUSED (the id names
            other content), or HANDED_BACK (no time was left to claim it, with `hand_back_late`)
    settle  remembers the answer of each admitted delivery that went out; releases the others,
            so that the sender's retry can try again

A claim holds for the time the invocation has left to answer: one never settled (Lambda stopped
the invocation) expires then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING

from checks.delivery import Delivery
from checks.delivery_ids import DeliveryKey
from forwarding.outcome_log import Unforwarded, log_reuse
from forwarding.outcomes import Outcome, OutcomeCode
from platform_services.deadlines import Deadline
from platform_services.observability import Metric, count

if TYPE_CHECKING:  # imported only with IDEMPOTENCY_TABLE (Powertools idempotency is not cheap)
    from forwarding.ledger import DeliveryLedger


@dataclass(slots=True)
class DeliveryClaims:
    """`deadline`: the lookups' (a claim is made before them); `answer_by`: when the invocation
    answers (the claims' hold, and the settling's deadline). Without `hand_back_late` (the sender
    is waiting), a delivery there was no time to claim goes out unchecked: at least once beats
    never. Duplicates and reused ids are counted into `tally`; what is handed back is reported
    to `unforwarded`."""

    ledger: DeliveryLedger
    deadline: Deadline
    answer_by: Deadline
    _: KW_ONLY
    hand_back_late: bool
    tally: Counter[str]
    unforwarded: Unforwarded
    _claimed: list[DeliveryKey] = field(default_factory=list, init=False)

    def admit(
        self, deliveries: Sequence[Delivery], outcomes: dict[DeliveryKey, Outcome]
    ) -> list[Delivery]:
        """The deliveries this invocation is to send; the others get their outcome in
        `outcomes` here."""
        if not deliveries:
            return []
        in_progress_ms = int(max(0.0, self.answer_by.remaining()) * 1000)
        claims = self.ledger.claim(deliveries, in_progress_ms, self.deadline)
        for key, answer in claims.answered.items():
            outcomes[key] = Outcome(key.event_id, answer.get("status"), duplicate=True)
        for key in claims.in_progress:
            outcomes[key] = Outcome(key.event_id, None, OutcomeCode.IN_PROGRESS)
        for delivery in deliveries:
            if delivery.key in claims.reused:
                outcomes[delivery.key] = Outcome(delivery.event_id, None, OutcomeCode.ID_REUSED)
                log_reuse(delivery)
        self.tally[Metric.DUPLICATE_DELIVERIES] += len(claims.answered) + len(claims.in_progress)
        self.tally[Metric.DELIVERY_IDS_REUSED] += len(claims.reused)
        admitted = claims.fresh
        if not self.hand_back_late:  # the sender is waiting: at least once beats never
            admitted = [*claims.fresh, *claims.late]
        else:
            for delivery in claims.late:  # nothing was claimed for them: they come back later
                outcomes[delivery.key] = Outcome(delivery.event_id, None, OutcomeCode.HANDED_BACK)
                self.unforwarded.hand_back(delivery, "time")
        self._claimed += [d.key for d in admitted]
        return admitted

    def settle(self, outcomes: dict[DeliveryKey, Outcome]) -> None:
        """Remembers what went out; releases the other claims made here."""
        mine = [(key, outcomes[key]) for key in self._claimed if key in outcomes]
        self.ledger.settle(
            forwarded={key: o.answer() for key, o in mine if o.forwarded},
            failed=[key for key, o in mine if not o.forwarded],
            deadline=self.answer_by,
        )


def send_once(
    delivery: Delivery,
    ledger: DeliveryLedger | None,
    send: Callable[[Deadline], str | None],
    deadline: Deadline,
    *,
    status: str,
) -> Outcome:
    """One delivery whose sender waits for the answer (queued mode's edge), sent by `send` (by
    the answer deadline it is given; it returns why it could not, or None) unless met before.
    With no ledger (no IDEMPOTENCY_TABLE), it is simply sent. Its Outcome has `status` when
    sent; a DUPLICATE has the first delivery's answer."""
    answer_by = deadline.for_answer()
    outcomes: dict[DeliveryKey, Outcome] = {}
    claims = None
    if ledger is not None:
        tally: Counter[str] = Counter()
        claims = DeliveryClaims(
            ledger,
            deadline,
            answer_by,
            hand_back_late=False,
            tally=tally,
            unforwarded=Unforwarded(),
        )
        admitted = claims.admit([delivery], outcomes)
        for name, value in tally.items():
            if value:
                count(name, value)
        if not admitted:
            return outcomes[delivery.key]
    outcome = outcomes[delivery.key] = Outcome(delivery.event_id, status, send(answer_by))
    if claims is not None:
        claims.settle(outcomes)
    return outcome
