"""The enriched event: the SQS message body and the attributes subscribers filter on."""

from __future__ import annotations

from typing import Any

from checks.delivery import Delivery, iso_timestamp
from checks.email_addresses import email_hash
from forwarding.queue_sender import OutgoingMessage
from lookups.address_lookups import SKIPPED, Lookups, enrichment_status, winning_relationship

SCHEMA = "enriched-event/v1"


def enriched_event(
    delivery: Delivery, lookups: Lookups | None, precedence: tuple[str, ...]
) -> dict[str, Any]:
    """`lookups` is None when the submission carries no valid email."""
    answered = lookups or SKIPPED
    return {
        "schema": SCHEMA,
        "event_id": delivery.event_id,
        "received_at": delivery.received_at,
        "source": delivery.source,
        "email": delivery.email.email if delivery.email else None,
        "payload": delivery.payload,
        "enrichment": {
            "status": enrichment_status(lookups),
            "contact_id": answered.minimo.contact_id,
            "relationship": winning_relationship(answered.sales, precedence),
            "email_path": delivery.email.path if delivery.email else None,
            "minimo": answered.minimo.to_dict(),
            "sales": answered.sales.to_dict(),
            "enriched_at": iso_timestamp(),
            "duration_ms": answered.duration_ms,
        },
    }


def outgoing_message(
    event: dict[str, Any], *, fifo: bool, key: str | None = None
) -> OutgoingMessage:
    """`key` tells this message's failure apart from another's with the same event_id: the
    delivery's key digest (DeliveryKey.digest); the event_id when not given."""
    enrichment = event["enrichment"]
    attributes = {
        "event_id": event["event_id"],
        "enrichment_status": enrichment["status"],
        "source_kind": event["source"]["kind"],
    }
    if enrichment["relationship"]:
        attributes["relationship"] = enrichment["relationship"]
    group_id = None
    if fifo:
        # Per-submitter ordering without putting the address itself in SQS metadata.
        group_id = email_hash(event["email"]) if event["email"] else "no-email"
    key = key or event["event_id"]
    return OutgoingMessage(
        event_id=event["event_id"],
        body=event,
        attributes=attributes,
        group_id=group_id,
        # The event_id, as the message contract says: deliveries of one event share it, so SQS drops
        # a sender's retry. (Two senders using the same id within SQS's five-minute window
        # collide there: README, "The enriched event".)
        deduplication_id=event["event_id"] if fifo else None,
        key=key,
    )
