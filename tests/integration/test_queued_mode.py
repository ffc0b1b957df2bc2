"""Queued mode end to end through moto: the HTTP path checks, queues and answers at once; the
intake queue's event source mapping (local/stand_ins/sqs_event_source.py, as Lambda's) enriches and
forwards exactly what a direct delivery would have."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from intake.queued_webhooks import MAX_QUEUED_BYTES, SCHEMA
from local.stand_ins.lambda_events import http_api_event
from local.stand_ins.sqs_event_source import SqsEventSource
from tests import signing
from tests.handler_results import answer

# The local event source mapping's polling and visibility timeouts, in real time: not in
# `make test-fast`.
pytestmark = pytest.mark.slow

EMAIL = "customer@example.com"


@pytest.fixture
def queued(stack, function_env) -> Callable[..., None]:
    """Queued mode on: INTAKE_QUEUE_URL names the local intake queue."""

    def apply(**overrides: str | None) -> None:
        function_env(**{"INTAKE_QUEUE_URL": stack.intake_queue_url, **overrides})

    apply()
    return apply


@pytest.fixture
def mapping(stack) -> Callable[..., SqsEventSource]:
    """The intake queue's event source mapping, invoking the real handler."""
    import app

    def make(queue_url: str | None = None, **options: Any) -> SqsEventSource:
        options = {"batch_size": 25, "batching_window": 0.2, **options}
        return SqsEventSource(
            stack.client("sqs"), queue_url or stack.intake_queue_url, app.lambda_handler, **options
        )

    return make


def intake_messages(stack) -> list[dict]:
    return stack.receive_all(stack.intake_queue_url)


def requeue(stack, message: dict) -> None:
    """Puts a message received from the intake queue back on it, exactly as it was (its body
    text and attributes, which its signature covers): what SQS does when it delivers again."""
    stack.client("sqs").send_message(
        QueueUrl=stack.intake_queue_url,
        MessageBody=message["text"],
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in message["attributes"].items()
        },
    )


def test_a_webhook_is_answered_queued_and_enriched_from_the_intake_queue(
    stack, invoke, queued, mapping
):
    event = http_api_event({"email": EMAIL, "submission_id": "s-1"}, provider="typeform")
    status, reply = answer(invoke(event))
    assert (status, reply) == (202, {"event_id": "s-1", "status": "queued"})
    assert stack.receive_all() == []  # nothing enriched yet
    mapping().drain()
    [message] = stack.receive_all()
    body = message["body"]
    assert body["event_id"] == "s-1"
    assert body["source"] == {"kind": "http", "route": "/webhooks/typeform", "provider": "typeform"}
    assert body["enrichment"]["status"] == "enriched"
    assert (body["enrichment"]["contact_id"], body["enrichment"]["relationship"]) == (
        42,
        "customer",
    )
    assert message["attributes"]["source_kind"] == "http"


def test_queued_and_direct_deliveries_make_the_same_enriched_event(
    stack, invoke, queued, function_env, mapping
):
    submission = {"answers": [{"type": "email", "email": EMAIL}], "submission_id": "same-1"}
    event = http_api_event(submission, provider="tally")
    invoke(event)
    mapping().drain()
    [via_queue] = stack.receive_all()
    function_env(INTAKE_QUEUE_URL=None)
    stack.reset()
    invoke(event)
    [direct] = stack.receive_all()
    for message in (via_queue, direct):
        for moving in ("enriched_at", "duration_ms"):
            message["body"]["enrichment"].pop(moving)
    assert via_queue["body"] == direct["body"]
    assert via_queue["attributes"] == direct["attributes"]


def test_received_at_is_when_the_webhook_arrived_not_when_it_was_enriched(
    stack, invoke, queued, mapping
):
    event = http_api_event({"email": EMAIL, "submission_id": "late-1"})
    event["requestContext"]["timeEpoch"] = 1795000000000  # as API Gateway stamps it
    invoke(event)
    [waiting] = intake_messages(stack)
    assert waiting["body"]["schema"] == SCHEMA
    assert waiting["body"]["received_at"] == "2026-11-18T11:06:40.000Z"
    requeue(stack, waiting)
    mapping().drain()
    [message] = stack.receive_all()
    assert message["body"]["received_at"] == "2026-11-18T11:06:40.000Z"


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (http_api_event(b"{not json"), 400, "bad_request"),
        (http_api_event(b"x", content_type="text/csv"), 415, "unsupported_media_type"),
        (http_api_event({"name": "no address"}), 422, "no_email"),
        (http_api_event({"email": EMAIL, "pad": "x" * (MAX_QUEUED_BYTES - 100)}), 413, None),
    ],
    ids=["not-json", "media-type", "no-email", "too-large-to-enrich"],
)
def test_everything_that_can_refuse_a_webhook_is_done_before_it_is_queued(
    stack, invoke, queued, event, status, code
):
    queued(REQUIRE_EMAIL="true", MAX_BODY_BYTES=str(2 * MAX_QUEUED_BYTES))
    got, reply = answer(invoke(event))
    assert got == status
    assert code is None or reply["error"]["code"] == code
    assert intake_messages(stack) == []


def test_signatures_are_checked_before_queueing(stack, invoke, queued):
    queued(WEBHOOK_SECRET="s3cret")
    body = json.dumps({"email": EMAIL}).encode()
    assert answer(invoke(http_api_event(body)))[0] == 401
    assert intake_messages(stack) == []
    headers = signing.standard_webhooks("s3cret", "msg_1", body)
    assert answer(invoke(http_api_event(body, headers=headers)))[0] == 202
    assert len(intake_messages(stack)) == 1


def test_a_queue_that_refuses_is_a_503_and_the_sender_retries(stack, invoke, queued):
    queued(INTAKE_QUEUE_URL=stack.intake_queue_url.replace("webhook-intake", "gone"))
    status, reply = answer(invoke(http_api_event({"email": EMAIL})))
    assert (status, reply["error"]["code"]) == (503, "unavailable")


def test_a_duplicate_delivery_is_queued_once(stack, invoke, queued, mapping):
    queued(IDEMPOTENCY_TABLE=stack.table_name)
    event = http_api_event({"email": EMAIL}, headers={"webhook-id": "msg_dup"})
    first, again = invoke(event), invoke(event)
    assert answer(first) == answer(again) == (202, {"event_id": "msg_dup", "status": "queued"})
    assert len(intake_messages(stack)) == 1


def test_a_queued_record_received_twice_is_forwarded_once(stack, invoke, queued, mapping):
    queued(IDEMPOTENCY_TABLE=stack.table_name)
    invoke(http_api_event({"email": EMAIL}, headers={"webhook-id": "msg_twice"}))
    [waiting] = intake_messages(stack)
    for _ in range(2):  # SQS delivers at least once
        requeue(stack, waiting)
    mapping().drain()
    assert [m["body"]["event_id"] for m in stack.receive_all()] == ["msg_twice"]


def test_records_that_must_wait_go_back_to_the_queue_never_partial(stack, invoke, queued, mapping):
    """One request a second and 4 s per invocation: each batch forwards what fits and hands
    the rest back; SQS brings them round again until all are enriched."""
    queued(SALES_API_MAX_RPS="1", HTTP_TIMEOUT_SECONDS="1")
    for n in range(6):
        invoke(http_api_event({"email": f"wait-{n}@queued.example"}))
    quick = mapping(function_timeout=4, batch_size=6)
    sqs = stack.client("sqs")
    sqs.set_queue_attributes(QueueUrl=stack.intake_queue_url, Attributes={"VisibilityTimeout": "1"})
    try:
        quick.drain(idle_seconds=3, timeout=60)
    finally:
        sqs.set_queue_attributes(
            QueueUrl=stack.intake_queue_url, Attributes={"VisibilityTimeout": "10"}
        )
    messages = stack.receive_all()
    assert sorted(m["body"]["email"] for m in messages) == [
        f"wait-{n}@queued.example" for n in range(6)
    ]
    assert {m["body"]["enrichment"]["status"] for m in messages} == {"not_found"}
    assert quick.stats.failed_records > 0  # some were handed back on the way
    assert stack.receive_all(stack.intake_dlq_url) == []


def test_a_record_that_keeps_failing_ends_in_the_intake_dlq(stack, invoke, queued, mapping):
    sqs = stack.client("sqs")
    broken = {"schema": SCHEMA, "event_id": "broken-1"}  # claims the schema, holds nothing
    text = json.dumps(broken)
    signature = signing.intake_signature(stack.intake_signing_key, text)  # as the edge signs
    sqs.send_message(
        QueueUrl=stack.intake_queue_url,
        MessageBody=text,
        MessageAttributes={"intake_signature": {"DataType": "String", "StringValue": signature}},
    )
    sqs.set_queue_attributes(QueueUrl=stack.intake_queue_url, Attributes={"VisibilityTimeout": "0"})
    try:
        mapping().drain(idle_seconds=1, timeout=30)
    finally:
        sqs.set_queue_attributes(
            QueueUrl=stack.intake_queue_url, Attributes={"VisibilityTimeout": "10"}
        )
    [parked] = stack.receive_all(stack.intake_dlq_url)
    assert parked["body"] == broken
    assert stack.receive_all() == []
