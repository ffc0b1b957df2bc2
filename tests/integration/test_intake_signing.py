"""The intake queue as a trust boundary (README, Security): only the function's own HTTP edge can
make a checked webhook. Through the real handler, the local event source mapping and moto."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from intake.queued_webhooks import SCHEMA
from local.stand_ins.lambda_events import http_api_event, sqs_record
from local.stand_ins.sqs_event_source import SqsEventSource
from local.stand_ins.stack_resources import INTAKE_VISIBILITY_SECONDS
from tests import signing

EMAIL = "customer@example.com"
TYPEFORM_SECRET = "typeform-s3cret"
TYPEFORM_BODY = json.dumps(
    {
        "event_id": "tf-1001",
        "form_response": {"answers": [{"type": "email", "email": EMAIL}]},
    }
).encode()


def forged(event_id: str = "tf-1001", **overrides: Any) -> dict[str, Any]:
    """What another producer on the intake queue can write: a body claiming to be a checked
    Typeform webhook."""
    return {
        "schema": SCHEMA,
        "event_id": event_id,
        "received_at": "2026-11-28T10:00:00.000Z",
        "source": {"kind": "http", "route": "/webhooks/typeform", "provider": "typeform"},
        "email": EMAIL,
        "email_path": "email",
        "payload": {"email": EMAIL, "note": "forged"},
        **overrides,
    }


@pytest.fixture
def queued(stack, function_env) -> Callable[..., None]:
    """Queued mode as deployed: duplicate protection on, Typeform webhooks signed."""
    without_records_in_flight(stack)

    def apply(**overrides: str | None) -> None:
        function_env(
            INTAKE_QUEUE_URL=stack.intake_queue_url,
            IDEMPOTENCY_TABLE=stack.table_name,
            WEBHOOK_SECRETS=json.dumps({"typeform": TYPEFORM_SECRET}),
            **overrides,
        )

    apply()
    return apply


def without_records_in_flight(stack) -> None:
    """A record an earlier test's drain refused stays in flight for the intake queue's visibility
    timeout, out of reach of the stack's reset, and would come back (or reach the DLQ) during
    this test: wait until none is, then empty the queues (the local SQS, as SQS, allows one
    PurgeQueue a minute)."""
    sqs = stack.client("sqs")
    give_up = time.monotonic() + INTAKE_VISIBILITY_SECONDS + 5
    while time.monotonic() < give_up:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.intake_queue_url,
            AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
            break
        time.sleep(0.2)
    stack.purge_all()


@pytest.fixture
def drain(stack) -> Callable[[], None]:
    import app

    def run() -> None:
        SqsEventSource(
            stack.client("sqs"), stack.intake_queue_url, app.lambda_handler, batching_window=0.2
        ).drain()

    return run


def put_on_intake(stack, body: dict | str, signature: str | None = None) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    attributes = {}
    if signature is not None:
        attributes["intake_signature"] = {"DataType": "String", "StringValue": signature}
    stack.client("sqs").send_message(
        QueueUrl=stack.intake_queue_url, MessageBody=text, MessageAttributes=attributes
    )


def typeform_delivery() -> dict:
    headers = signing.typeform(TYPEFORM_SECRET, TYPEFORM_BODY)
    return http_api_event(TYPEFORM_BODY, provider="typeform", headers=headers)


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


@pytest.mark.slow  # drains the intake queue, key rotations between
def test_the_key_can_come_from_secrets_manager_and_be_rotated(
    stack, invoke, queued, drain, function_env
):
    """Deployed, the key is the template's generated secret. During a rotation the secret holds
    `new old`: what the old key signed is still accepted; once the old key is gone, such a
    message is refused, never forwarded as the webhook it claims to be."""
    from runtime import forget_current_runtime

    sm = stack.client("secretsmanager")
    old = stack.intake_signing_key
    queued(INTAKE_SIGNING_KEY=None, INTAKE_SIGNING_SECRET_ARN=stack.intake_secret_arn)
    invoke(typeform_delivery())
    [signed_with_old] = stack.receive_all(stack.intake_queue_url)
    assert signed_with_old["attributes"]["intake_signature"] == signing.intake_signature(
        old, signed_with_old["text"]
    )
    try:
        sm.put_secret_value(SecretId=stack.intake_secret_arn, SecretString=f"new-key-1 {old}")
        forget_current_runtime()  # a container that has read the secret since
        put_on_intake(
            stack, signed_with_old["text"], signed_with_old["attributes"]["intake_signature"]
        )
        drain()
        [accepted] = stack.receive_all()
        assert accepted["body"]["source"]["kind"] == "http"

        sm.put_secret_value(SecretId=stack.intake_secret_arn, SecretString="new-key-1")
        forget_current_runtime()
        record = sqs_record(signed_with_old["text"])
        record["messageAttributes"] = {
            "intake_signature": {
                "stringValue": signed_with_old["attributes"]["intake_signature"],
                "dataType": "String",
            }
        }
        assert invoke({"Records": [record]})["batchItemFailures"] != []
        assert stack.receive_all() == []
    finally:
        sm.put_secret_value(SecretId=stack.intake_secret_arn, SecretString=old)


def test_an_unreadable_signing_key_queues_nothing_and_judges_nothing(
    stack, invoke, queued, function_env
):
    missing = stack.intake_secret_arn.replace("intake-signing-key", "no-such-secret")
    queued(INTAKE_SIGNING_KEY=None, INTAKE_SIGNING_SECRET_ARN=missing)
    result = invoke(typeform_delivery())
    assert result["statusCode"] == 503
    assert json.loads(result["body"])["error"]["code"] == "unavailable"
    assert stack.receive_all(stack.intake_queue_url) == []
    records = [sqs_record(forged(event_id=f"f-{n}")) for n in range(3)]
    for record in records:
        record["messageAttributes"] = {
            "intake_signature": {"stringValue": "v1=" + "B" * 44, "dataType": "String"}
        }
    result = invoke({"Records": records})
    assert len(result["batchItemFailures"]) == 3  # they wait until the key can be read
    assert stack.receive_all() == []


def test_an_intake_queue_without_a_signing_key_stops_the_function_at_start(
    stack, invoke, function_env
):
    from settings import ConfigurationError

    function_env(INTAKE_QUEUE_URL=stack.intake_queue_url, INTAKE_SIGNING_KEY=None)
    with pytest.raises(ConfigurationError, match="INTAKE_SIGNING_KEY"):
        invoke(typeform_delivery())


@pytest.mark.slow  # two containers as separate processes
def test_one_container_signs_what_another_accepts(stack, function_env, drain, tmp_path):
    """Two containers as separate processes sharing the stack: the edge's container queues the
    webhook, another enriches it; the key they share is the secret's."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    shared = {
        "INTAKE_SIGNING_KEY": None,
        "INTAKE_SIGNING_SECRET_ARN": stack.intake_secret_arn,
        "WEBHOOK_SECRETS": json.dumps({"typeform": TYPEFORM_SECRET}),
    }
    function_env(**shared)  # this process: the intake's container
    events_file, outcomes_file = tmp_path / "events.json", tmp_path / "outcomes.json"
    events_file.write_text(json.dumps([typeform_delivery()]))
    edge_env = stack.env(INTAKE_QUEUE_URL=stack.intake_queue_url, **shared)
    done = subprocess.run(  # noqa: S603 - our own driver, with this interpreter
        [
            sys.executable,
            "-m",
            "tests.integration.cold_start_driver",
            *(map(str, (events_file, outcomes_file))),
            "10",
        ],
        env={"PATH": os.environ.get("PATH", ""), **edge_env},
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [edge] = json.loads(outcomes_file.read_text())
    assert edge["result"]["statusCode"] == 202
    drain()
    [message] = stack.receive_all()
    assert message["body"]["source"]["provider"] == "typeform"
    assert message["body"]["event_id"] == "tf-1001"
