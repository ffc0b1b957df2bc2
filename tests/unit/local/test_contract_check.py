"""The contract check itself: what it lets through and what it catches."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from local.stand_ins.event_contract import ContractViolation, check_message, published_schema

EVENT = {
    "schema": "enriched-event/v1",
    "event_id": "tf-1001",
    "received_at": "2026-11-28T10:00:01.000Z",
    "source": {"kind": "http", "route": "/webhooks/typeform", "provider": "typeform"},
    "email": "customer@example.com",
    "payload": {"anything": ["the", "sender", "sent"], "nested": {"x": 1}},
    "enrichment": {
        "status": "enriched",
        "contact_id": 42,
        "relationship": "customer",
        "email_path": "email",
        "minimo": {"status": "found", "contact": {"id": 42, "custom": True}, "error": None},
        "sales": {
            "status": "found",
            "matches": [
                {
                    "id": "au_1",
                    "relationship": "customer",
                    "account_id": None,
                    "account_name": None,
                    "account_user_status": "active",
                }
            ],
            "error": None,
        },
        "enriched_at": "2026-11-28T10:00:01.118Z",
        "duration_ms": 12,
    },
}
ATTRIBUTES = {
    "event_id": "tf-1001",
    "enrichment_status": "enriched",
    "source_kind": "http",
    "relationship": "customer",
}


def changed(path: str, value: object) -> dict:
    event = copy.deepcopy(EVENT)
    *parents, last = path.split(".")
    node = event
    for name in parents:
        node = node[name]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return event


def test_the_published_schema_is_valid_2020_12():
    Draft202012Validator.check_schema(published_schema())


def test_a_whole_event_passes():
    check_message(EVENT, ATTRIBUTES)


def test_the_published_schema_lets_unknown_properties_through_for_consumers():
    event = changed("enrichment.new_field", "v1 may gain optional fields")
    assert Draft202012Validator(published_schema()).is_valid(event)
    with pytest.raises(ContractViolation, match="new_field"):
        check_message(event, ATTRIBUTES)  # but the function may not send one the schema lacks


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("schema", "enriched-event/v2"),
        ("event_id", "has spaces in it"),
        ("received_at", "2026-11-28 10:00:01"),
        ("source.kind", "ftp"),
        ("source.route", KeyError),
        ("enrichment.status", "done"),
        ("enrichment.duration_ms", -1),
        ("enrichment.minimo.status", "error"),  # an error without its error object
        ("enrichment.sales.matches", []),  # found, with nothing found
        ("enrichment.sales.error", {"code": "x"}),  # an error object without its message
        ("email", None),  # no address, yet enriched
        ("enrichment.enriched_at", KeyError),
    ],
)
def test_a_broken_event_is_caught(path, value):
    with pytest.raises(ContractViolation):
        check_message(changed(path, value), ATTRIBUTES)


def test_a_payload_may_be_any_json():
    for payload in (None, 1, "text", [1, {"a": None}], {"deep": {"er": [True]}}):
        check_message(changed("payload", payload), ATTRIBUTES)


@pytest.mark.parametrize(
    "attributes",
    [
        {**ATTRIBUTES, "enrichment_status": "partial"},
        {k: v for k, v in ATTRIBUTES.items() if k != "relationship"},
        {**ATTRIBUTES, "email": "customer@example.com"},
    ],
)
def test_attributes_must_say_what_the_body_says(attributes):
    with pytest.raises(ContractViolation, match="attributes"):
        check_message(EVENT, attributes)


def test_the_readme_example_keeps_the_contract():
    """docs/schema/README.md's example is a real message shape, not a sketch."""
    from pathlib import Path

    readme = Path(__file__).parents[3] / "docs" / "schema" / "README.md"
    example = readme.read_text().split("```json\n", 1)[1].split("```", 1)[0]
    check_message(json.loads(example), ATTRIBUTES)
