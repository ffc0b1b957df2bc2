"""Queued mode: an accepted webhook, as it waits on the intake queue to be enriched.

The HTTP path does everything that can refuse a request (size, content type, signature,
parsing, the email rule, the event id), then stores what enriching needs later — the payload,
the event id, the source, when it was received and where the email is — and answers at once.
The SQS intake turns it back into the same Delivery, so the enriched event is the one a direct
delivery would have made: same `event_id`, the original `source` and `received_at`. It does so
only for a message the edge signed (queued_signatures.py): anything else on the queue is an
ordinary submission.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from checks.delivery import Delivery
from checks.email_extraction import EmailMatch
from forwarding.queue_sender import MAX_MESSAGE_BYTES, OutgoingMessage
from intake.answers import malformed, too_large_to_queue
from intake.queued_signatures import SIGNATURE_ATTRIBUTE

SCHEMA = "queued-webhook/v1"
# The enriched event adds the lookups' answers (a contact, the matches) to what is queued: a
# webhook is queued only if that still fits in one SQS message.
ENRICHMENT_HEADROOM_BYTES = 64 * 1024
MAX_QUEUED_BYTES = MAX_MESSAGE_BYTES - ENRICHMENT_HEADROOM_BYTES


def queued_message(delivery: Delivery, sign: Callable[[str], str]) -> OutgoingMessage:
    """The intake queue's message for an accepted webhook, its body signed by `sign`
    (queued_signatures.py); refuses (413) what cannot fit."""
    unsigned = OutgoingMessage(
        event_id=delivery.event_id,
        body={
            "schema": SCHEMA,
            "event_id": delivery.event_id,
            "received_at": delivery.received_at,
            "source": delivery.source,
            "email": delivery.email.email if delivery.email else None,
            "email_path": delivery.email.path if delivery.email else None,
            "payload": delivery.payload,
        },
        attributes={"event_id": delivery.event_id, "schema": SCHEMA},
    )
    if unsigned.size > MAX_QUEUED_BYTES:
        raise too_large_to_queue()
    return replace(
        unsigned,
        attributes={**unsigned.attributes, SIGNATURE_ATTRIBUTE: sign(unsigned.serialised)},
    )


def is_queued_webhook(body: Any) -> bool:
    return isinstance(body, dict) and body.get("schema") == SCHEMA


# What the edge writes, and the consumer's contract holds it to (docs/schema).
_EVENT_ID = re.compile(r"[!-~]{1,128}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z", re.ASCII)


def _edge_source(source: Any) -> bool:
    """The only source the HTTP edge queues: {"kind": "http", "route", "provider"}."""
    return (
        isinstance(source, dict)
        and set(source) == {"kind", "route", "provider"}
        and source["kind"] == "http"
        and isinstance(source["route"], str)
        and (source["provider"] is None or isinstance(source["provider"], str))
    )


def delivery_from(body: dict[str, Any]) -> Delivery:
    """The Delivery a queued webhook stands for; a record that claims the schema but does not
    hold to it is refused (400), so that it fails alone and reaches the intake DLQ."""
    event_id, received_at = body.get("event_id"), body.get("received_at")
    source, email, path = body.get("source"), body.get("email"), body.get("email_path")
    if not (
        isinstance(event_id, str)
        and _EVENT_ID.fullmatch(event_id)
        and isinstance(received_at, str)
        and _TIMESTAMP.fullmatch(received_at)
        and _edge_source(source)
        and "payload" in body
        and (email is None or (isinstance(email, str) and isinstance(path, str)))
    ):
        raise malformed(f"the record does not hold to {SCHEMA}")
    match = EmailMatch(email, path) if email is not None else None
    return Delivery(event_id, source, body["payload"], match, received_at)
