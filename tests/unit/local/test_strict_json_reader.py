"""The checks the tests hold every sent message to must themselves catch what they claim to."""

import pytest

from local.stand_ins.moto_server import refused_character
from local.stand_ins.strict_json_reader import NotStrictJson, read_strict_json


@pytest.mark.parametrize(
    "text",
    [
        '{"n": NaN}',
        '{"n": Infinity}',
        "[-Infinity]",
        '{"s": "\\ud800"}',  # an escaped lone surrogate: Python reads it, other languages do not
        '{"\\udc00": 1}',
        '{"s": "\ud800"}',  # a raw one: not UTF-8 at all
        '{"a": 1, "a": 2}',
        '{"a": ',
    ],
)
def test_what_is_not_strict_json_is_refused(text):
    with pytest.raises(NotStrictJson):
        read_strict_json(text)


def test_strict_json_is_read():
    text = '{"a": ["\\u0000", "\\ufffe", "\\ud83d\\ude00", 1e308, -0.0], "b": {"a": null}}'
    assert read_strict_json(text) == {
        "a": ["\x00", "\ufffe", "\U0001f600", 1e308, -0.0],
        "b": {"a": None},
    }


def test_the_sqs_character_rule_names_the_first_refused_character():
    assert refused_character({"MessageBody": "fine \t\n\r \ud7ff \ue000 \ufffd \U0010ffff"}) is None
    assert "'#xFFFE' was found in the message body" in refused_character({"MessageBody": "a\ufffe"})
    assert "#x0'" in refused_character({"MessageBody": "\x00"})
    assert "#xD800" in refused_character({"MessageBody": "\ud800"})
    entry = {"MessageBody": "ok", "MessageAttributes": {"k": {"StringValue": "\x0b"}}}
    assert "message attribute 'k'" in refused_character(entry)
