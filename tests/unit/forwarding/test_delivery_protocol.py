"""The duplicate-delivery protocol (forwarding/claims.py: claim, send, settle) against DynamoDB
and SQS on the run's moto server: what a second invocation meets, depending on what the
first one did. Each DeliveryClaims stands for one invocation, as enrich_and_forward and queued
mode make them."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from checks.delivery import Delivery
from checks.delivery_ids import DeliveryKey
from forwarding.claims import DeliveryClaims, send_once
from forwarding.ledger import DeliveryLedger
from forwarding.outcome_log import Unforwarded
from forwarding.outcomes import Outcome, OutcomeCode
from forwarding.queue_sender import OutgoingMessage, QueueSender
from local.stand_ins.stack import TABLE, LocalStack
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import Metric

SOURCE = {"kind": "http", "route": "/webhooks/tally", "provider": "tally"}


@pytest.fixture
def aws(stack: LocalStack, function_env: Callable[..., None]) -> Any:
    """DynamoDB and SQS on the run's moto server, emptied for each test: the idempotency table as
    the template makes it, key `id`. (moto's in-process mock_aws would reset the server's
    backends too, which live in this process.)"""
    return stack.client("sqs")


@pytest.fixture
def ledgers(aws: Any) -> Iterator[Callable[[str], DeliveryLedger]]:
    made: list[DeliveryLedger] = []

    def ledger(purpose: str = "delivery") -> DeliveryLedger:
        made.append(DeliveryLedger(TABLE, 4, purpose))
        return made[-1]

    yield ledger
    for ledger_made in made:
        ledger_made.close()


def delivery(event_id: str = "evt-1", email: str = "ada@example.com") -> Delivery:
    return Delivery(event_id, dict(SOURCE), {"email": email}, None, "2026-12-06T05:00:00.000Z")


class Invocation:
    """One invocation's claims, with what it counted and handed back."""

    def __init__(
        self, ledger: DeliveryLedger, *, hand_back_late: bool = True, answer_in: float = 20.0
    ) -> None:
        now = time.monotonic()
        self.deadline = Deadline(now + 10.0, now + answer_in)
        self.tally: Counter[str] = Counter()
        self.unforwarded = Unforwarded()
        self.outcomes: dict[DeliveryKey, Outcome] = {}
        self.claims = DeliveryClaims(
            ledger,
            self.deadline,
            self.deadline.for_answer(),
            hand_back_late=hand_back_late,
            tally=self.tally,
            unforwarded=self.unforwarded,
        )

    def admit(self, *deliveries: Delivery) -> list[Delivery]:
        return self.claims.admit(deliveries, self.outcomes)

    def forwarded(self, *deliveries: Delivery, status: str = "enriched") -> None:
        for sent in deliveries:
            self.outcomes[sent.key] = Outcome(sent.event_id, status)
        self.claims.settle(self.outcomes)

    def failed(self, *deliveries: Delivery) -> None:
        for sent in deliveries:
            self.outcomes[sent.key] = Outcome(sent.event_id, None, "ServiceUnavailable")
        self.claims.settle(self.outcomes)


def test_a_delivery_forwarded_once_is_a_duplicate_with_its_first_answer(ledgers):
    ledger = ledgers()
    first = Invocation(ledger)
    assert first.admit(delivery()) == [delivery()]
    first.forwarded(delivery(), status="partial")

    second = Invocation(ledger)
    assert second.admit(delivery()) == []
    [outcome] = second.outcomes.values()
    assert outcome.code is OutcomeCode.DUPLICATE
    assert outcome.answer() == {"event_id": "evt-1", "status": "partial"}
    assert second.tally[Metric.DUPLICATE_DELIVERIES] == 1


def test_a_delivery_another_invocation_holds_is_in_progress(ledgers):
    ledger = ledgers()
    Invocation(ledger).admit(delivery())  # claimed, never settled: still being forwarded

    second = Invocation(ledger)
    assert second.admit(delivery()) == []
    assert second.outcomes[delivery().key].code is OutcomeCode.IN_PROGRESS
    assert second.tally[Metric.DUPLICATE_DELIVERIES] == 1


def test_a_delivery_that_failed_is_released_for_the_senders_retry(ledgers):
    ledger = ledgers()
    first = Invocation(ledger)
    first.admit(delivery())
    first.failed(delivery())

    retry = Invocation(ledger)
    assert retry.admit(delivery()) == [delivery()]
    assert retry.outcomes == {}


def test_the_same_id_with_other_content_is_an_id_reused_not_a_duplicate(ledgers, function_logs):
    ledger = ledgers()
    first = Invocation(ledger)
    first.admit(delivery())
    first.forwarded(delivery())

    other = delivery(email="grace@example.com")
    second = Invocation(ledger)
    assert second.admit(other) == []
    assert second.outcomes[other.key].code is OutcomeCode.ID_REUSED
    assert second.tally[Metric.DELIVERY_IDS_REUSED] == 1
    assert second.tally[Metric.DUPLICATE_DELIVERIES] == 0
    assert "delivery id reused for other content" in function_logs()
    assert "grace@example.com" not in function_logs()  # masked


def test_one_batch_holding_an_id_twice_claims_the_first_and_finds_the_second_reused(ledgers):
    first, other = delivery(), delivery(email="grace@example.com")
    batch = Invocation(ledgers())
    assert batch.admit(first, other) == [first]
    assert batch.outcomes[other.key].code is OutcomeCode.ID_REUSED


def test_a_claim_never_settled_holds_only_for_the_time_its_invocation_had(ledgers):
    ledger = ledgers()
    # The invocation's answer deadline has passed as it claims (Lambda is about to stop it).
    stopped = Invocation(ledger, answer_in=-1.0)
    assert stopped.admit(delivery()) == [delivery()]
    stopped.forwarded(delivery())  # no time left to settle: the claim is left to expire
    time.sleep(0.01)  # a millisecond later, at least, than the hold's end

    retry = Invocation(ledger)
    assert retry.admit(delivery()) == [delivery()]


def test_what_there_is_no_time_to_claim_is_handed_back_unclaimed_when_a_queue_keeps_it(ledgers):
    ledger = ledgers()
    late = Invocation(ledger)
    late.claims = DeliveryClaims(
        ledger,
        Deadline.in_seconds(0.0),  # the lookups' time is over: no claim can start
        late.deadline.for_answer(),
        hand_back_late=True,
        tally=late.tally,
        unforwarded=late.unforwarded,
    )
    assert late.admit(delivery()) == []
    assert late.outcomes[delivery().key].code is OutcomeCode.HANDED_BACK
    late.claims.settle(late.outcomes)

    later = Invocation(ledger)  # nothing was written: the redelivery is fresh
    assert later.admit(delivery()) == [delivery()]


def test_what_there_is_no_time_to_claim_goes_out_unchecked_when_the_sender_waits(ledgers):
    ledger = ledgers()
    waiting = Invocation(ledger, hand_back_late=False)
    waiting.claims = DeliveryClaims(
        ledger,
        Deadline.in_seconds(0.0),
        waiting.deadline.for_answer(),
        hand_back_late=False,
        tally=waiting.tally,
        unforwarded=waiting.unforwarded,
    )
    assert waiting.admit(delivery()) == [delivery()]
    waiting.forwarded(delivery())  # remembered after the send, all the same

    assert Invocation(ledger).admit(delivery()) == []


def test_the_edges_acceptances_and_forwarding_are_separate_records(ledgers):
    """Queued mode: the webhook accepted at the edge is still fresh for forwarding later."""
    accepted, forwarding = ledgers("accepted"), ledgers("delivery")
    edge = Invocation(accepted)
    edge.admit(delivery())
    edge.forwarded(delivery(), status="queued")

    assert Invocation(forwarding).admit(delivery()) == [delivery()]


def queue_sender(sqs: Any) -> tuple[QueueSender, str]:
    url = sqs.create_queue(QueueName=f"protocol-{uuid.uuid4().hex}")["QueueUrl"]  # its own
    return QueueSender(url, aws_calls.client("sqs", aws_calls.SQS)), url


def message_for(sent: Delivery) -> OutgoingMessage:
    return OutgoingMessage(sent.event_id, {"event_id": sent.event_id}, {}, key=sent.key.digest)


def sender(queue: QueueSender, message: OutgoingMessage) -> Callable[[Deadline], str | None]:
    return lambda answer_by: queue.send([message], answer_by).get(message.key)


def waiting_messages(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_send_once_sends_a_delivery_once_and_answers_the_repeat_with_the_first_answer(aws, ledgers):
    queue, url = queue_sender(aws)
    ledger = ledgers("accepted")
    send = sender(queue, message_for(delivery()))

    first = send_once(delivery(), ledger, send, Deadline.in_seconds(10), status="queued")
    again = send_once(delivery(), ledger, send, Deadline.in_seconds(10), status="queued")

    assert (first.code, again.code) == (OutcomeCode.FORWARDED, OutcomeCode.DUPLICATE)
    assert first.answer() == again.answer() == {"event_id": "evt-1", "status": "queued"}
    assert waiting_messages(aws, url) == 1
    queue.close()


def test_send_once_without_a_ledger_sends_every_time(aws):
    queue, url = queue_sender(aws)
    send = sender(queue, message_for(delivery()))
    for _ in range(2):
        outcome = send_once(delivery(), None, send, Deadline.in_seconds(10), status="queued")
        assert outcome.code is OutcomeCode.FORWARDED
    assert waiting_messages(aws, url) == 2
    queue.close()


def test_send_once_releases_what_the_queue_refused_so_that_the_retry_is_sent(aws, ledgers):
    queue, url = queue_sender(aws)
    gone = QueueSender(url + "-deleted", aws_calls.client("sqs", aws_calls.SQS))
    ledger = ledgers("accepted")
    message = message_for(delivery())

    refused = send_once(
        delivery(), ledger, sender(gone, message), Deadline.in_seconds(10), status="queued"
    )
    assert not refused.forwarded
    assert refused.code is OutcomeCode.UNAVAILABLE  # the queue's own error code, kept as reason
    assert "NonExistentQueue" in str(refused.failure)

    retried = send_once(
        delivery(), ledger, sender(queue, message), Deadline.in_seconds(10), status="queued"
    )
    assert retried.code is OutcomeCode.FORWARDED
    assert waiting_messages(aws, url) == 1
    queue.close()
    gone.close()
