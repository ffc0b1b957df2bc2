"""Messages on the intake queue: what another producer can forge, a real Typeform delivery, and
putting either on the queue as a producer would."""

from __future__ import annotations

import json
import time
from typing import Any

from intake.queued_webhooks import SCHEMA
from local.stand_ins.lambda_events import http_api_event
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
