"""The intake queue as a trust boundary (README, Security): only the function's own HTTP edge can
make a checked webhook. Through the real handler, the local event source mapping and moto:
forged, altered and made-up messages."""

from __future__ import annotations

import json

import pytest

from local.stand_ins.lambda_events import sqs_record
from local.stand_ins.sqs_event_source import SqsEventSource
from tests import signing
from tests.integration.intake_signing.intake_messages import (
    forged,
    put_on_intake,
    typeform_delivery,
)


@pytest.mark.slow  # drains the intake queue through the local event source mapping
def test_a_forged_queued_webhook_is_an_ordinary_submission_and_the_real_one_still_goes_through(
    stack, invoke, queued, drain
):
    """The issue's case: a producer claims Typeform's `tf-1001` on the intake queue; the signed
    Typeform delivery of `tf-1001` must still be accepted and forwarded as Typeform's."""
    put_on_intake(stack, forged())
    drain()
    [ordinary] = stack.receive_all()
    assert ordinary["body"]["source"] == {"kind": "sqs", "queue": "webhook-intake"}
    assert ordinary["attributes"]["source_kind"] == "sqs"
    assert ordinary["body"]["payload"]["source"]["provider"] == "typeform"  # its claim, as data

    result = invoke(typeform_delivery())
    assert (result["statusCode"], json.loads(result["body"])) == (
        202,
        {"event_id": "tf-1001", "status": "queued"},
    )
    drain()
    [real] = stack.receive_all()
    assert real["body"]["event_id"] == "tf-1001"
    assert real["body"]["source"] == {
        "kind": "http",
        "route": "/webhooks/typeform",
        "provider": "typeform",
    }
    assert real["body"]["enrichment"]["status"] == "enriched"
    assert stack.receive_all(stack.intake_dlq_url) == []


@pytest.mark.slow  # drains the intake queue through the local event source mapping
def test_the_edge_signs_what_it_queues_and_the_intake_checks_it(stack, invoke, queued, drain):
    invoke(typeform_delivery())
    [waiting] = stack.receive_all(stack.intake_queue_url)
    expected = signing.intake_signature(stack.intake_signing_key, waiting["text"])
    assert waiting["attributes"]["intake_signature"] == expected
    put_on_intake(stack, waiting["text"], waiting["attributes"]["intake_signature"])
    drain()
    [message] = stack.receive_all()
    assert message["body"]["source"]["kind"] == "http"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text.replace('"customer@example.com"', '"victim@example.com"', 1),
        lambda text: text.replace('"tf-1001"', '"tf-1002"', 1),
        lambda text: text.replace('"provider":"typeform"', '"provider":"tally"', 1),
    ],
    ids=["address", "event-id", "provider"],
)
def test_a_signed_message_altered_on_the_queue_is_refused(stack, invoke, queued, tamper):
    invoke(typeform_delivery())
    [waiting] = stack.receive_all(stack.intake_queue_url)
    altered = tamper(waiting["text"])
    assert altered != waiting["text"]
    record = sqs_record(altered)
    record["messageAttributes"] = {
        "intake_signature": {
            "stringValue": waiting["attributes"]["intake_signature"],
            "dataType": "String",
        }
    }
    result = invoke({"Records": [record]})
    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert stack.receive_all() == []


@pytest.mark.slow  # drains the intake queue through the local event source mapping
def test_a_made_up_signature_is_refused_and_rests_in_the_intake_dlq(
    stack, invoke, queued, function_env
):
    import app

    put_on_intake(stack, forged(), "v1=" + "A" * 44)
    sqs = stack.client("sqs")
    sqs.set_queue_attributes(QueueUrl=stack.intake_queue_url, Attributes={"VisibilityTimeout": "0"})
    try:
        SqsEventSource(sqs, stack.intake_queue_url, app.lambda_handler).drain(idle_seconds=1)
    finally:
        sqs.set_queue_attributes(
            QueueUrl=stack.intake_queue_url, Attributes={"VisibilityTimeout": "10"}
        )
    assert stack.receive_all() == []
    [parked] = stack.receive_all(stack.intake_dlq_url)
    assert parked["body"]["event_id"] == "tf-1001"
    # ... and it took nothing from the real delivery, which is still queued and forwarded.
    assert invoke(typeform_delivery())["statusCode"] == 202


def test_without_a_signing_key_no_queued_message_is_trusted(stack, invoke, function_env):
    """Direct mode with an intake queue of its own producers: nothing there is the edge's."""
    function_env(INTAKE_SIGNING_KEY=None, IDEMPOTENCY_TABLE=stack.table_name)
    record = sqs_record(forged())
    record["messageAttributes"] = {
        "intake_signature": {
            "stringValue": signing.intake_signature(stack.intake_signing_key, record["body"]),
            "dataType": "String",
        }
    }
    assert invoke({"Records": [record]}) == {"batchItemFailures": []}
    [message] = stack.receive_all()
    assert message["body"]["source"] == {"kind": "sqs", "queue": "webhook-intake"}
