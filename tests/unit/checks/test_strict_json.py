"""The JSON policy, one class of input at a time, and the SQS character set of what is sent."""

import json
import math

import pytest

from checks import strict_json
from checks.check_failures import CheckFailed
from checks.strict_json import MAX_JSON_DEPTH
from forwarding.queue_sender import OutgoingMessage, sqs_body, sqs_text
from intake.answers import STATUS_AND_CODE


def refused(text: bytes | str) -> str:
    with pytest.raises(CheckFailed) as caught:
        strict_json.loads(text)
    assert STATUS_AND_CODE[caught.value.reason] == (400, "bad_request")
    return caught.value.message


@pytest.mark.parametrize(
    "text", [b'{"a": "x\\ud800y"}', b'{"a\\udfff": 1}', b'["\\udc00"]', b'"\\ude00\\ud83d"']
)
def test_lone_surrogates_are_refused_in_values_and_keys(text):
    assert "lone surrogate" in refused(text)


def test_a_surrogate_pair_is_one_character():
    assert strict_json.loads(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_text_that_is_only_unusual_is_kept_as_it_is():
    text = (
        '{"nul": "\\u0000", "bell": "\\u0007", "nonchars": "\\ufffe\\uffff", '
        '"astral": "\\udbff\\udfff"}'
    )
    assert strict_json.loads(text) == {
        "nul": "\x00",
        "bell": "\x07",
        "nonchars": "\ufffe\uffff",
        "astral": "\U0010ffff",
    }


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(literal):
    assert refused(f'{{"n": {literal}}}') == "the body is not valid JSON"


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1.8e308", "123456789e999"])
def test_numbers_beyond_a_double_are_refused_with_their_own_message(number):
    assert "beyond the range of a double" in refused(f"[{number}]")


def test_tiny_and_big_numbers_are_read_as_every_consumer_reads_them():
    assert strict_json.loads("[1e-400, 4.9e-324, 1.7976931348623157e308, -0.0]") == [
        0.0,
        5e-324,
        1.7976931348623157e308,
        -0.0,
    ]
    big = 123456789012345678901234567890
    assert strict_json.loads(f"[{big}]") == [big]  # an integer stays exact


def test_duplicate_keys_keep_the_last_as_json_parse_does():
    assert strict_json.loads('{"email": "a@x.io", "email": "b@x.io"}') == {"email": "b@x.io"}


def test_nesting_up_to_the_limit_is_accepted_and_beyond_refused():
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert strict_json.loads(at_limit) is not None
    over = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert "nested deeper" in refused(over)
    assert refused("[" * 100_000 + "]" * 100_000)  # no RecursionError escapes


def test_invalid_utf8_is_not_json():
    assert refused(b'{"a": "\xed\xa0\x80"}') == "the body is not valid JSON"  # an encoded surrogate


def test_parsed_values_from_other_sources_are_held_to_the_same_policy():
    assert strict_json.accepted({"a": ["\u00e9", {"k": 1.5}]}) == {"a": ["\u00e9", {"k": 1.5}]}
    for poison in (
        {"a": ["\ud800"]},
        {"\udc00": 1},
        {"n": math.nan},
        {"n": math.inf},
        {"n": b"bytes"},
        {1: "key"},
        {"t": (1, 2)},
    ):
        with pytest.raises(CheckFailed):
            strict_json.accepted(poison)
    deep: list = []
    node = deep
    for _ in range(MAX_JSON_DEPTH + 5):
        node.append([])
        node = node[0]
    with pytest.raises(CheckFailed):
        strict_json.accepted(deep)


def test_dumps_never_writes_nan_or_infinity():
    with pytest.raises(ValueError, match="not JSON compliant"):
        strict_json.dumps({"n": math.inf})


# --- SQS's character set: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF ---


def test_the_body_escapes_what_sqs_refuses_and_reads_back_the_same():
    value = {"k\ufffe": "a\ufffeb\uffff\x00\x1f\x7f\ud7ff\ue000\U0010ffff é\t\n\r"}
    body = sqs_body(strict_json.dumps(value))
    assert all(
        c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
        for c in body
    )
    assert "\\ufffe" in body
    assert "\\uffff" in body
    assert json.loads(body) == value  # lossless


def test_a_lone_surrogate_that_reached_the_body_is_replaced_not_escaped():
    assert sqs_body(strict_json.dumps(["a\ud800b"])) == '["a\ufffdb"]'


def test_attribute_values_replace_what_sqs_refuses():
    assert sqs_text("evt\x00\x08\ufffe\uffff-1") == "evt\ufffd\ufffd\ufffd\ufffd-1"
    assert sqs_text("ok \t é \U0001f600") == "ok \t é \U0001f600"
    assert sqs_text("") == "\ufffd"  # SQS refuses empty values as well


def test_an_outgoing_message_is_held_to_both_rules():
    message = OutgoingMessage("e1", {"note": "\uffff"}, {"event_id": "e\x01"})
    assert message.serialised == '{"note":"\\uffff"}'
    assert message.entry("m0")["MessageAttributes"]["event_id"]["StringValue"] == "e\ufffd"
    assert message.size == len(message.serialised) + len("event_id") + len("String") + 4
    with pytest.raises(ValueError, match="not JSON compliant"):
        OutgoingMessage("e2", {"n": math.nan}, {})
