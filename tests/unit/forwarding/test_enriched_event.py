"""The message body and attributes downstream consumers rely on."""

from checks.delivery import Delivery
from checks.email_addresses import email_hash
from checks.email_extraction import EmailMatch
from forwarding.enriched_event import SCHEMA, enriched_event, outgoing_message
from lookups.address_lookups import Lookups
from lookups.results import LookupFailure, MinimoResult, SalesMatch, SalesResult

PRECEDENCE = ("self", "customer", "supplier")


def delivery(email="customer@example.com"):
    return Delivery(
        event_id="evt-1",
        source={"kind": "http", "route": "/webhooks/typeform", "provider": "typeform"},
        payload={"email": email, "n": 1},
        email=EmailMatch(email, "email") if email else None,
        received_at="2026-11-22T10:00:00.000Z",
    )


FOUND_BOTH = Lookups(
    MinimoResult("found", contact={"id": 42, "email": "customer@example.com"}),
    SalesResult(
        "found",
        (
            SalesMatch("au_1", "supplier", "acc_2", "Partner", "active"),
            SalesMatch("au_2", "customer", "acc_1", "Acme", "active"),
        ),
    ),
    duration_ms=118,
)


def test_schema_of_an_enriched_event():
    event = enriched_event(delivery(), FOUND_BOTH, PRECEDENCE)
    assert event["schema"] == SCHEMA == "enriched-event/v1"
    assert event["event_id"] == "evt-1"
    assert event["received_at"] == "2026-11-22T10:00:00.000Z"
    assert event["source"] == {
        "kind": "http",
        "route": "/webhooks/typeform",
        "provider": "typeform",
    }
    assert event["email"] == "customer@example.com"
    assert event["payload"] == {"email": "customer@example.com", "n": 1}
    enrichment = event["enrichment"]
    assert enrichment["status"] == "enriched"
    assert enrichment["contact_id"] == 42
    assert enrichment["relationship"] == "customer"
    assert enrichment["email_path"] == "email"
    assert enrichment["minimo"] == {
        "status": "found",
        "contact": {"id": 42, "email": "customer@example.com"},
        "error": None,
    }
    assert enrichment["sales"]["status"] == "found"
    assert enrichment["sales"]["error"] is None
    assert enrichment["sales"]["matches"][1] == {
        "id": "au_2",
        "relationship": "customer",
        "account_id": "acc_1",
        "account_name": "Acme",
        "account_user_status": "active",
    }
    assert enrichment["duration_ms"] == 118
    assert enrichment["enriched_at"].endswith("Z")


def test_partial_carries_the_error():
    failure = LookupFailure("timeout", "the API did not answer in time")
    lookups = Lookups(MinimoResult("error", error=failure), SalesResult("not_found"), 3000)
    enrichment = enriched_event(delivery(), lookups, PRECEDENCE)["enrichment"]
    assert enrichment["status"] == "partial"
    assert enrichment["minimo"]["error"] == {
        "code": "timeout",
        "message": "the API did not answer in time",
    }
    assert (enrichment["contact_id"], enrichment["relationship"]) == (None, None)


def test_no_email_skips_both_lookups():
    event = enriched_event(delivery(email=None), None, PRECEDENCE)
    assert event["email"] is None
    enrichment = event["enrichment"]
    assert enrichment["status"] == "no_email"
    assert enrichment["minimo"]["status"] == enrichment["sales"]["status"] == "skipped"
    assert enrichment["email_path"] is None


def test_attributes_on_a_standard_queue():
    message = outgoing_message(enriched_event(delivery(), FOUND_BOTH, PRECEDENCE), fifo=False)
    assert message.attributes == {
        "event_id": "evt-1",
        "enrichment_status": "enriched",
        "source_kind": "http",
        "relationship": "customer",
    }
    assert message.group_id is None
    assert message.deduplication_id is None
    entry = message.entry("m0")
    assert "MessageGroupId" not in entry
    assert "MessageDeduplicationId" not in entry
    assert entry["MessageAttributes"]["relationship"] == {
        "DataType": "String",
        "StringValue": "customer",
    }


def test_relationship_attribute_only_when_known():
    lookups = Lookups(MinimoResult("not_found"), SalesResult("not_found"), 5)
    message = outgoing_message(enriched_event(delivery(), lookups, PRECEDENCE), fifo=False)
    assert "relationship" not in message.attributes


def test_fifo_group_is_a_hash_of_the_email_and_dedup_is_the_event_id():
    sent = delivery()
    event = enriched_event(sent, FOUND_BOTH, PRECEDENCE)
    message = outgoing_message(event, fifo=True, key=sent.key.digest)
    assert message.group_id == email_hash("customer@example.com")
    assert "customer" not in message.group_id
    assert message.deduplication_id == "evt-1"
    assert message.key == sent.key.digest  # how the sender reports this message's failure
    entry = message.entry("m0")
    assert entry["MessageGroupId"] == message.group_id
    assert entry["MessageDeduplicationId"] == "evt-1"
    assert message.attributes["event_id"] == event["event_id"] == "evt-1"
