"""The SQS intake (intake/sqs.py) called with the container's real parts on the local stack:
the batch is forwarded together and only the records that were not are reported in
batchItemFailures, so that SQS redelivers those alone; a refused record is reported, never
dropped; an event that only looks like a batch is refused whole."""

from __future__ import annotations

import pytest

from intake import sqs
from intake.answers import Refusal
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import sqs_event, sqs_record
from runtime import current_runtime
from tests.conftest import missing_queue_url


def handle(event: dict, timeout: float = 30) -> set[str]:
    """The message ids the batch reports as failed."""
    result = sqs.handle(event, LambdaContextStub(timeout), current_runtime().sqs_intake)
    return {failure["itemIdentifier"] for failure in result["batchItemFailures"]}


def test_a_batch_is_forwarded_together_and_nothing_is_reported(stack, function_env):
    event = sqs_event([{"email": "customer@example.com"}, {"email": "nobody@example.net"}])
    assert handle(event) == set()
    statuses = sorted(m["body"]["enrichment"]["status"] for m in stack.receive_all())
    assert statuses == ["enriched", "not_found"]
    assert len(stack.minimo.requests()) == 2


def test_a_record_that_is_not_json_is_reported_and_the_others_go(stack, function_env):
    good, bad = sqs_record({"email": "customer@example.com"}), sqs_record("{not json")
    assert handle({"Records": [good, bad]}) == {bad["messageId"]}
    [message] = stack.receive_all()
    assert message["body"]["enrichment"]["status"] == "enriched"


def test_records_are_reported_when_the_queue_refuses_them(stack, function_env):
    function_env(OUTPUT_QUEUE_URL=missing_queue_url(stack))
    event = sqs_event([{"email": "customer@example.com"}, {"email": "nobody@example.net"}])
    assert handle(event) == {record["messageId"] for record in event["Records"]}


def test_a_record_without_an_email_is_reported_when_one_is_required(stack, function_env):
    function_env(REQUIRE_EMAIL="true")
    good, bad = sqs_record({"email": "customer@example.com"}), sqs_record({"name": "none"})
    assert handle({"Records": [good, bad]}) == {bad["messageId"]}
    assert len(stack.receive_all()) == 1


def test_a_batch_with_no_time_left_hands_every_record_back_unsent(stack, function_env):
    event = sqs_event([{"email": "customer@example.com"}])
    assert handle(event, timeout=0.05) == {event["Records"][0]["messageId"]}
    assert stack.receive_all() == []


@pytest.mark.parametrize(
    "records",
    [
        "not a list",
        [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}],  # no eventSourceARN
        [sqs_record({}, message_id="m1"), sqs_record({}, message_id="m1")],
    ],
)
def test_an_event_that_only_looks_like_a_batch_is_refused_whole(stack, function_env, records):
    with pytest.raises(Refusal) as refused:
        sqs.handle({"Records": records}, LambdaContextStub(), current_runtime().sqs_intake)
    assert refused.value.status == 400
