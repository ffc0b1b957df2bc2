"""Where form tools put the submitter's email, and which one wins when there are several."""

import json

import pytest

from checks.email_extraction import MAX_NODES, EmailFinder, find_automatically
from settings import ConfigurationError


def found(payload, paths=()):
    match = EmailFinder(paths).find(payload)
    return (match.email, match.path) if match else None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"email": "a@example.com"}, ("a@example.com", "email")),
        ({"Email": "a@example.com"}, ("a@example.com", "Email")),
        ({"e-mail": "a@example.com"}, ("a@example.com", '"e-mail"')),
        ({"email_address": "a@example.com"}, ("a@example.com", "email_address")),
        (
            {"user": {"profile": {"email": "a@example.com"}}},
            ("a@example.com", "user.profile.email"),
        ),
        ([{"email": "a@example.com"}], ("a@example.com", "[0].email")),
    ],
)
def test_flat_keys_at_any_depth(payload, expected):
    assert found(payload) == expected


def test_typeform_answer_of_type_email_beats_other_addresses():
    payload = {
        "form_response": {
            "hidden": {"email": "hidden@example.com"},
            "answers": [
                {"type": "text", "text": "cc other@example.com", "field": {"type": "short_text"}},
                {"type": "email", "email": "typed@example.com", "field": {"type": "email"}},
            ],
        }
    }
    assert found(payload) == ("typed@example.com", "form_response.answers[1].email")


def test_tally_input_email_field():
    payload = {
        "data": {
            "fields": [
                {"key": "q1", "label": "Billing contact", "type": "INPUT_TEXT", "value": "b@x.io"},
                {"key": "q2", "label": "Your address", "type": "INPUT_EMAIL", "value": "t@x.io"},
            ]
        }
    }
    assert found(payload) == ("t@x.io", "data.fields[1].value")


def test_hubspot_named_field_beats_a_field_that_only_mentions_email():
    payload = {
        "fields": [
            {"name": "manager_email", "value": "boss@x.io"},
            {"name": "email", "value": "me@x.io"},
        ]
    }
    assert found(payload) == ("me@x.io", "fields[1].value")


def test_value_with_field_type_email():
    payload = {"answers": [{"value": "f@x.io", "field_type": "email"}]}
    assert found(payload) == ("f@x.io", "answers[0].value")


def test_email_inside_a_field_whose_value_is_a_json_string():
    payload = {"formID": "1", "rawRequest": json.dumps({"q3_email": "j@x.io"})}
    assert found(payload) == ("j@x.io", "powertools_json(rawRequest).q3_email")


def test_reported_paths_round_trip_through_email_paths():
    payload = {"formID": "1", "rawRequest": json.dumps({"q3_email": "j@x.io"}), "cc": "c@x.io"}
    email, path = found(payload)
    assert found(payload, (path,)) == (email, path)


def test_email_named_key_beats_key_mentioning_email_and_plain_values():
    payload = {"contact": "plain@x.io", "q7_manager_email": "mention@x.io", "Email": "named@x.io"}
    assert found(payload) == ("named@x.io", "Email")


def test_shallower_wins_among_equals_then_document_order():
    payload = {"a": {"email": "deep@x.io"}, "email": "top@x.io", "b": {"email": "deep2@x.io"}}
    assert found(payload) == ("top@x.io", "email")
    assert found({"x": {"email": "first@x.io"}, "y": {"email": "second@x.io"}})[0] == "first@x.io"


def test_invalid_addresses_are_skipped_for_the_next_candidate():
    assert found({"email": "not-an-address", "reply_to": "ok@x.io"}) == ("ok@x.io", "reply_to")


def test_normalises_the_winner():
    assert found({"email": "  Jane Doe <Jane.Doe@Example.COM> "}) == (
        "Jane.Doe@example.com",
        "email",
    )


def test_configured_paths_are_tried_in_order_before_auto_detection():
    payload = {"email": "auto@x.io", "meta": {"submitter": "conf@x.io"}, "other": "o@x.io"}
    assert found(payload, ("missing.path", "meta.submitter")) == ("conf@x.io", "meta.submitter")
    assert found(payload, ("missing.path",)) == ("auto@x.io", "email")


def test_configured_path_to_a_list_takes_its_first_valid_address():
    payload = {"people": [{"mail": "nope"}, {"mail": "p@x.io"}]}
    assert found(payload, ("people[].mail",)) == ("p@x.io", "people[].mail")


def test_invalid_configured_path_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="EMAIL_PATHS"):
        EmailFinder(("a.[",))


def test_no_email_anywhere():
    assert found({"name": "x", "n": 3, "tags": ["a", "b"], "nested": {"k": None}}) is None
    assert found("just a string") is None
    assert found(None) is None


def test_walk_is_bounded_on_huge_payloads():
    payload = {"items": [{"k": i} for i in range(MAX_NODES * 2)], "email": "late@x.io"}
    # The top-level key is reached first (breadth-first), however large the rest is.
    assert find_automatically(payload).email == "late@x.io"
    buried = {"items": [{"k": i} for i in range(MAX_NODES * 2)] + [{"email": "buried@x.io"}]}
    assert find_automatically(buried) is None
