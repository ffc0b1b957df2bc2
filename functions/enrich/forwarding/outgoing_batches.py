"""Enriched events on their way to the output queue: sent in batches of ten as they are built,
in the background, while the other lookups still run."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

from checks.delivery import Delivery
from forwarding.enriched_event import outgoing_message
from forwarding.outcomes import OutcomeCode
from forwarding.queue_sender import MAX_BATCH_ENTRIES, OutgoingMessage, QueueSender
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import failure_details, logger

# Kept from SQS's share of the time for the duplicate check's bookkeeping after the send.
SETTLE_RESERVE_SECONDS = 0.8
# With a cutoff (records that can wait on their queue), a SendMessageBatch starts only while
# this much is left: a connection and an answer, with room for SQS's slowest ordinary answers.
# Started later, its answer could be cut off by the deadline: the message on the queue, and its
# record reported failed (and so sent again).
SEND_ATTEMPT_SECONDS = aws_calls.SQS.connect_timeout + 0.5

# Called once per event with the reason it is not on the queue, or None when it is.
Sent = Callable[[Delivery, dict, "str | None"], None]


class OutgoingBatches:
    """Messages sent in batches of ten as they are added, in the background. Each event's
    outcome is reported to `sent` once its batch is answered (or at once when it cannot be
    serialised); `finish` sends the rest and reports every outcome still due.

    `cutoff`: no batch is sent after the time left falls under SEND_ATTEMPT_SECONDS; what is
    left is reported as OutcomeCode.NOT_SENT. `settles`: the duplicate check settles what was
    sent afterwards (sending_deadline keeps it its share of the time)."""

    def __init__(
        self, sender: QueueSender, answer_by: Deadline, sent: Sent, *, cutoff: bool, settles: bool
    ) -> None:
        self._send_soon = sender.in_background()  # made before the lookups' subsegment
        self._answer_by = answer_by
        self._sent = sent
        self._cutoff = cutoff
        self._settles = settles
        self._ready: list[tuple[Delivery, dict, OutgoingMessage]] = []
        self._sending: deque[tuple[Future[dict[str, str]], list]] = deque()

    def add(self, delivery: Delivery, event: dict, *, fifo: bool) -> None:
        try:
            message = outgoing_message(event, fifo=fifo, key=delivery.key.digest)
        except (ValueError, TypeError, RecursionError) as exc:  # this event fails, not the batch
            logger.error(
                "event cannot be serialised",
                extra={"event_id": event["event_id"], **failure_details(exc)},
            )
            self._sent(delivery, event, OutcomeCode.NOT_SERIALISABLE)
            return
        self._ready.append((delivery, event, message))
        if len(self._ready) == MAX_BATCH_ENTRIES:
            self._send_ready()

    def report_sent(self) -> None:
        """Reports the batches already answered, oldest first."""
        while self._sending and self._sending[0][0].done():
            self._report(*self._sending.popleft())

    def finish(self) -> None:
        if self._ready:  # the last, short batch, after the others (a FIFO queue keeps order)
            self._send_ready()
        while self._sending:
            self._report(*self._sending.popleft())

    def _send_ready(self) -> None:
        messages = [message for _, _, message in self._ready]
        deadline = sending_deadline(self._answer_by, settles=self._settles)
        start_by = deadline.less(SEND_ATTEMPT_SECONDS) if self._cutoff else None
        self._sending.append((self._send_soon(messages, deadline, start_by), self._ready))
        self._ready = []

    def _report(self, sending: Future[dict[str, str]], batch: list) -> None:
        failures = sending.result()
        for delivery, event, message in batch:
            self._sent(delivery, event, failures.get(message.key))


def sending_deadline(answer_by: Deadline, *, settles: bool) -> Deadline:
    """SQS may use all the time left but the duplicate check's share (when it `settles`), which
    it gets only when that share is enough for one DynamoDB attempt: sending is what must not
    fail. Worked out when each batch goes: the duplicate check's share depends on the time left."""
    if not settles:
        return answer_by
    settling = min(SETTLE_RESERVE_SECONDS, max(0.0, answer_by.remaining()) / 3)
    if settling < aws_calls.DYNAMODB.shortest_attempt:
        return answer_by
    return answer_by.less(settling)
