"""The shared path of every source: look the addresses up, build the events, send them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from checks.delivery import Delivery
from checks.delivery_ids import DeliveryKey
from forwarding.claims import DeliveryClaims
from forwarding.enriched_event import enriched_event
from forwarding.outcome_log import Unforwarded, count_lookups, log_forwarded
from forwarding.outcomes import Outcome, OutcomeCode
from forwarding.outgoing_batches import OutgoingBatches
from forwarding.parts import ForwardingParts
from lookups.address_lookups import KnownAnswers, Lookups
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import count

if TYPE_CHECKING:  # only a queue's records wait out an outage: loaded when one does
    from forwarding.outage_waits import QueueWaits
    from forwarding.queue_receipts import Receipt

__all__ = ["Outcome", "enrich_and_forward"]

# Addresses admitted (claimed, with IDEMPOTENCY_TABLE) at a time, as the lookups ask for more.
ADMIT_CHUNK = 16


def enrich_and_forward(
    deliveries: Sequence[Delivery],
    parts: ForwardingParts,
    deadline: Deadline,
    *,
    hand_back_waits: bool = False,
    receipts: Mapping[DeliveryKey, Receipt] | None = None,
) -> list[Outcome]:
    """One Outcome per delivery, in order. Each delivery (sender, id and content) is looked up
    and sent at most once: repeated within the batch, or (with IDEMPOTENCY_TABLE) already
    forwarded before. With IDEMPOTENCY_TABLE, a sender's id that already names other content is
    refused as reused (ID_REUSED) rather than taken for a duplicate.

    `deadline` is the lookups'; SQS and the ledger's bookkeeping end by its answer deadline.
    With `hand_back_waits` (a queue will deliver the event again), what cannot be finished in
    time is handed back (HANDED_BACK), never sent late: an event whose lookup only had to wait
    past the deadline, whose lookups could not start, whose duplicate check could not be made
    or whose send could not start in time. Otherwise such an event goes out `partial`.
    A queue's record also waits out an API's outage (outage_waits.py); `receipts` says what the
    queue said of each (its first arrival, its receive count); a delivery it omits is new.
    """
    unique = list({d.key: d for d in deliveries}.values())
    tally: Counter[str] = Counter()  # one data point per metric and invocation, however many events
    unforwarded = Unforwarded()
    answer_by = deadline.for_answer()
    claims = None
    if parts.ledger is not None:
        claims = DeliveryClaims(
            parts.ledger,
            deadline,
            answer_by,
            hand_back_late=hand_back_waits,
            tally=tally,
            unforwarded=unforwarded,
        )
    waits = _queue_waits(parts, receipts or {}, deadline) if hand_back_waits else None
    forwarding = _Forwarding(parts, deadline, answer_by, tally, unforwarded, waits)
    outcomes = forwarding.run(unique, claims)
    if waits is not None:
        waits.settle(outcomes, answer_by)
        waits.report(tally)
    if claims is not None:
        claims.settle(outcomes)
    unforwarded.log(tally, waits.summary() if waits is not None else None)
    for name, value in tally.items():
        count(name, value)
    return [outcomes[d.key] for d in deliveries]


def _queue_waits(
    parts: ForwardingParts, receipts: Mapping[DeliveryKey, Receipt], deadline: Deadline
) -> QueueWaits:
    from forwarding.outage_waits import QueueWaits

    return QueueWaits(parts, receipts, deadline)


class _Forwarding:
    """Each event is built as soon as its address is answered and sent in a batch of ten as
    soon as ten are ready, while the other lookups run: a batch takes about as long as its
    lookups, not its lookups plus its sends."""

    def __init__(
        self,
        parts: ForwardingParts,
        deadline: Deadline,
        answer_by: Deadline,
        tally: Counter[str],
        unforwarded: Unforwarded,
        waits: QueueWaits | None,
    ) -> None:
        self._parts = parts
        self._deadline = deadline
        self._tally = tally
        self._unforwarded = unforwarded
        self._waits = waits
        self._hand_back_waits = waits is not None
        self._outcomes: dict[DeliveryKey, Outcome] = {}
        self._by_email: defaultdict[str, list[Delivery]] = defaultdict(list)
        self._known: dict[str, KnownAnswers] = {}  # what earlier tries of waiting records kept
        self._batches = OutgoingBatches(
            parts.sender,
            answer_by,
            self._sent,
            cutoff=self._hand_back_waits,
            settles=parts.ledger is not None,
        )

    def run(self, deliveries: list[Delivery], claims: DeliveryClaims | None) -> dict:
        # The fleet's pacing holding the APIs past the deadline (a 429's pause): what a queue
        # keeps waits there until the hold ends, with nothing claimed or asked meanwhile.
        held = self._parts.enricher.held_for(self._deadline) if self._hand_back_waits else None
        for delivery in deliveries:
            # On its last receive a record is not handed back again (it would be dead-lettered).
            if held is not None and delivery.email and not self._last_receive(delivery):
                self._hand_back(delivery, "rate_limited", wait=held)
                continue
            self._by_email[delivery.email.email if delivery.email else ""].append(delivery)
        # No address first (nothing to look up), then those on their last receive, then the
        # others in order.
        emails = sorted(self._by_email, key=lambda email: (bool(email), not self._urgent(email)))
        all_lookups: dict[str, Lookups] = {}
        with aws_calls.within(self._deadline):  # the API keys' secret, read by the lookups
            lookups = self._parts.enricher.look_up(
                self._admitted(emails, claims),
                self._deadline,
                stop_when_full=self._hand_back_waits,
                expected=sum(1 for email in emails if email),
                known=self._known,
            )
            for email, found in lookups:
                all_lookups[email] = found
                self._answered(email, found)
        self._batches.finish()
        count_lookups(all_lookups, self._tally)
        for delivery in deliveries:  # never admitted: the batch ran out of time first
            if delivery.key not in self._outcomes:
                self._hand_back(delivery, "time")
        return self._outcomes

    def _admitted(self, emails: list[str], claims: DeliveryClaims | None) -> Iterator[str]:
        """The addresses to look up, admitted a few at a time as the lookups ask for more (the
        duplicate check claims their deliveries then); no-address events go straight out."""
        for chunk in _chunks(emails, ADMIT_CHUNK):
            if claims is not None:
                waiting = [d for email in chunk for d in self._by_email[email]]
                fresh = {d.key for d in claims.admit(waiting, self._outcomes)}
                for email in chunk:
                    self._by_email[email] = [d for d in self._by_email[email] if d.key in fresh]
            if self._waits is not None:  # before they are looked up: what earlier tries kept
                self._waits.recall([d for e in chunk for d in self._by_email[e]], self._known)
            for email in chunk:
                if not self._by_email[email]:
                    continue
                if email:
                    yield email
                else:
                    self._answered("", None)

    def _answered(self, email: str, found: Lookups | None) -> None:
        for delivery in self._by_email[email]:
            waiting = self._waits.wait_for(delivery, found) if self._waits and found else None
            if waiting is not None:  # its queue keeps it until its next try
                self._hand_back(delivery, waiting.why, waiting.seconds, waiting.outage)
                continue
            event = enriched_event(delivery, found, self._parts.relationship_precedence)
            self._batches.add(delivery, event, fifo=self._parts.fifo)
        self._batches.report_sent()  # what has gone meanwhile, while the lookups still run

    def _last_receive(self, delivery: Delivery) -> bool:
        return self._waits is not None and self._waits.last_receive(delivery)

    def _urgent(self, email: str) -> bool:
        return any(self._last_receive(d) for d in self._by_email[email])

    def _hand_back(
        self, delivery: Delivery, why: str, wait: float | None = None, outage: tuple[str, ...] = ()
    ) -> None:
        handed_back = Outcome(
            delivery.event_id, None, OutcomeCode.HANDED_BACK, wait=wait, outage=outage
        )
        self._outcomes[delivery.key] = handed_back
        self._unforwarded.hand_back(delivery, why)

    def _sent(self, delivery: Delivery, event: dict, failure: str | None) -> None:
        if failure == OutcomeCode.NOT_SENT:  # its turn came too late: nothing of it was sent
            self._hand_back(delivery, "time")
            return
        status = event["enrichment"]["status"]
        self._outcomes[delivery.key] = Outcome(delivery.event_id, status, failure)
        if failure is None:
            log_forwarded(event, status, self._tally)
        else:
            self._unforwarded.fail(delivery, failure)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
