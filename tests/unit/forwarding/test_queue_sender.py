"""The queue sender against moto's SQS (the local stack's server): batches of ten within SQS's
size limits, what SQS refuses escaped or replaced, and every message it could not send named
with the reason. Messages go to the intake queue, which holds any body."""

from __future__ import annotations

import json

import pytest

from forwarding.outcomes import OutcomeCode
from forwarding.queue_sender import (
    MAX_MESSAGE_BYTES,
    OutgoingMessage,
    QueueSender,
    sqs_body,
    sqs_text,
)
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from tests.conftest import missing_queue_url


@pytest.fixture
def sender(stack, function_env):
    made = QueueSender(stack.intake_queue_url, aws_calls.client("sqs", aws_calls.SQS))
    yield made
    made.close()


def message(n: int, **body) -> OutgoingMessage:
    return OutgoingMessage(f"e{n}", {"n": n, **body}, {"event_id": f"e{n}"})


def received(stack) -> dict[str, dict]:
    return {m["attributes"]["event_id"]: m for m in stack.receive_all(stack.intake_queue_url)}


def test_every_message_arrives_with_its_body_and_attributes(stack, sender):
    assert sender.send([message(n) for n in range(23)], Deadline.in_seconds(10)) == {}
    arrived = received(stack)
    assert sorted(arrived) == sorted(f"e{n}" for n in range(23))
    assert json.loads(arrived["e7"]["text"]) == {"n": 7}


def test_a_message_over_the_limit_is_too_large_and_the_others_go(stack, sender):
    big = message(1, padding="x" * MAX_MESSAGE_BYTES)
    failed = sender.send([message(0), big, message(2)], Deadline.in_seconds(10))
    assert failed == {"e1": OutcomeCode.TOO_LARGE}
    assert sorted(received(stack)) == ["e0", "e2"]


def test_a_queue_that_does_not_exist_fails_every_message_by_its_code(stack, function_env):
    sender = QueueSender(missing_queue_url(stack), aws_calls.client("sqs", aws_calls.SQS))
    try:
        failed = sender.send([message(0), message(1)], Deadline.in_seconds(10))
    finally:
        sender.close()
    assert set(failed) == {"e0", "e1"}
    assert all(
        "NonExistentQueue" in code or "QueueDoesNotExist" in code for code in failed.values()
    )


def test_nothing_starts_after_start_by_and_nothing_of_it_is_sent(stack, sender):
    failed = sender.send([message(0)], Deadline.in_seconds(10), start_by=Deadline.in_seconds(-1))
    assert failed == {"e0": OutcomeCode.NOT_SENT}
    assert received(stack) == {}


def test_in_the_background_the_answer_is_the_same(stack, sender):
    send = sender.in_background()
    assert send([message(0), message(1)], Deadline.in_seconds(10), None).result(10) == {}
    assert sorted(received(stack)) == ["e0", "e1"]


def test_a_message_keys_failures_by_its_own_key(stack, sender):
    one = OutgoingMessage("same", {"n": 1}, {"event_id": "a"}, key="route-a")
    other = OutgoingMessage("same", {"n": 2, "padding": "x" * MAX_MESSAGE_BYTES}, {}, key="route-b")
    assert sender.send([one, other], Deadline.in_seconds(10)) == {"route-b": OutcomeCode.TOO_LARGE}


def test_what_sqs_refuses_is_escaped_in_bodies_and_replaced_in_attributes(stack, sender):
    body_text = "a\ufffeb\uffff"
    sent = OutgoingMessage("e0", {"text": body_text}, {"event_id": "e0", "note": "x\x01y"})
    assert sender.send([sent], Deadline.in_seconds(10)) == {}
    [arrived] = received(stack).values()
    assert json.loads(arrived["text"]) == {"text": body_text}  # the same string to a parser
    assert arrived["attributes"]["note"] == "x\ufffdy"


def test_sqs_text_and_body_helpers():
    assert sqs_body('"\ufffe"') == '"\\ufffe"'
    assert sqs_body('"\ud800"') == '"\ufffd"'  # a lone surrogate cannot be sent as UTF-8
    assert sqs_text("") == "\ufffd"  # SQS refuses empty attribute values
    assert sqs_text("plain") == "plain"


def test_a_body_that_is_not_strict_json_is_refused_before_sending():
    with pytest.raises(ValueError, match="JSON"):
        OutgoingMessage("e0", {"n": float("nan")}, {})
