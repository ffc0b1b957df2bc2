"""The shared path every source takes (forwarding/pipeline.py), with the container's real
forwarding parts (current_runtime() on the local stack): both sandbox APIs over HTTP, moto's SQS
and DynamoDB.
Each delivery gets one outcome, in order; an address is looked up once however many
deliveries carry it; a delivery is sent once; what cannot be finished in time is handed back
when a queue will deliver it again, and never sent late."""

from __future__ import annotations

import pytest

from checks.delivery import Delivery
from checks.email_extraction import EmailFinder
from forwarding.outcomes import OutcomeCode
from forwarding.parts import ForwardingParts
from forwarding.pipeline import enrich_and_forward
from intake.outcome_answers import ForwardingFailed
from intake.retried_invokes import forward_or_raise
from platform_services.deadlines import Deadline
from runtime import current_runtime
from tests.conftest import missing_queue_url, wait_for_requests

FINDER = EmailFinder(("email",))


def forwarding() -> ForwardingParts:
    """The container's forwarding parts, built from the environment function_env set."""
    return current_runtime().forwarding


def delivery(event_id: str, email: str | None, **payload) -> Delivery:
    body = {"email": email, **payload} if email else payload
    match = FINDER.find(body)
    source = {"kind": "direct"}
    return Delivery(event_id, source, body, match, "2026-12-06T00:00:00.000Z")


def test_each_delivery_gets_its_outcome_in_order_and_an_address_is_asked_once(stack, function_env):
    batch = [
        delivery("a", "customer@example.com"),
        delivery("b", "nobody@example.net"),
        delivery("c", "customer@example.com", other="field"),
        delivery("d", None),
    ]
    outcomes = enrich_and_forward(batch, forwarding(), Deadline.in_seconds(10))
    assert [(o.event_id, o.status, o.failure) for o in outcomes] == [
        ("a", "enriched", None),
        ("b", "not_found", None),
        ("c", "enriched", None),
        ("d", "no_email", None),
    ]
    sent = {m["body"]["event_id"]: m["body"]["enrichment"]["status"] for m in stack.receive_all()}
    assert sent == {"a": "enriched", "b": "not_found", "c": "enriched", "d": "no_email"}
    assert len(wait_for_requests(stack.minimo, 2)) == 2  # two addresses, not three lookups


def test_a_delivery_repeated_in_a_batch_is_sent_once(stack, function_env):
    one = delivery("a", "customer@example.com")
    outcomes = enrich_and_forward([one, one], forwarding(), Deadline.in_seconds(10))
    assert [o.forwarded for o in outcomes] == [True, True]
    assert len(stack.receive_all()) == 1


def test_with_the_ledger_a_delivery_forwarded_before_is_not_sent_again(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)
    one = delivery("a", "customer@example.com")
    [first] = enrich_and_forward([one], forwarding(), Deadline.in_seconds(10))
    [again] = enrich_and_forward([one], forwarding(), Deadline.in_seconds(10))
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.answer() == first.answer()
    assert len(stack.receive_all()) == 1


def test_out_of_time_a_queued_delivery_is_handed_back_and_nothing_is_sent(stack, function_env):
    batch = [delivery("a", "customer@example.com"), delivery("b", "nobody@example.net")]
    outcomes = enrich_and_forward(
        batch, forwarding(), Deadline.in_seconds(-1), hand_back_waits=True
    )
    assert [o.failure for o in outcomes] == [OutcomeCode.HANDED_BACK, OutcomeCode.HANDED_BACK]
    assert stack.receive_all() == []
    assert stack.minimo.requests() == []


def test_a_queue_that_refuses_fails_the_delivery_with_sqs_code(stack, function_env):
    function_env(OUTPUT_QUEUE_URL=missing_queue_url(stack))
    [outcome] = enrich_and_forward(
        [delivery("a", "customer@example.com")], forwarding(), Deadline.in_seconds(10)
    )
    assert not outcome.forwarded
    assert outcome.failure == "AWS.SimpleQueueService.NonExistentQueue"


def test_forward_or_raise_answers_with_the_event_id_and_status(stack, function_env):
    answer = forward_or_raise(delivery("a", "customer@example.com"), forwarding(), None)
    assert answer == {"event_id": "a", "status": "enriched"}
    assert len(stack.receive_all()) == 1


def test_forward_or_raise_raises_so_that_the_sender_retries(stack, function_env):
    function_env(OUTPUT_QUEUE_URL=missing_queue_url(stack))
    with pytest.raises(ForwardingFailed, match="could not be queued"):
        forward_or_raise(delivery("a", "customer@example.com"), forwarding(), None)


def test_forward_or_raise_refuses_an_id_reused_for_other_content(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)
    forward_or_raise(delivery("a", "customer@example.com"), forwarding(), None)
    with pytest.raises(ForwardingFailed, match=OutcomeCode.ID_REUSED):
        forward_or_raise(delivery("a", "nobody@example.net"), forwarding(), None)
    assert len(stack.receive_all()) == 1
