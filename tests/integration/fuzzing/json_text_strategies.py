"""Hypothesis strategies over the whole wire space, not only what json.dumps or st.text() write:
JSON text written by hand (escapes, lone surrogates, `\\u0000`, numbers beyond a double, nesting
around the limit, duplicate keys), multipart bodies with their own part headers, charsets and
malformations, base64 variants, raw bytes.

`reference_reading` says, independently of the function's code, what the JSON policy in
docs/security.md makes of a JSON text, so that the fuzz tests can check the answer and the
payload, not only that there was one.

Here: JSON text and its reference reading. Beside it: multipart and base64
(body_encoding_strategies.py), header and receipt-attribute values (header_value_strategies.py),
odd event shapes and queued claims (event_shape_strategies.py).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hypothesis import strategies as st

EMAIL = "customer@example.com"
MAX_DEPTH = 64  # docs/security.md: JSON nested deeper than 64 levels is refused


TRICKY_ESCAPES = [
    '\\"',
    "\\\\",
    "\\/",
    "\\b",
    "\\f",
    "\\n",
    "\\r",
    "\\t",
    "\\u0000",
    "\\u001f",
    "\\u007f",
    "\\ufffe",
    "\\uffff",
    "\\ud800",  # lone high surrogate
    "\\udfff",  # lone low surrogate
    "\\udc00\\ud800",  # a pair in the wrong order: two lone ones
    "\\ud83d\\ude00",  # a real pair: 😀
    "\\udbff\\udfff",  # U+10FFFF
]


raw_characters = st.one_of(
    st.characters(exclude_categories=("Cs",), exclude_characters='"\\', min_codepoint=0x20),
    st.sampled_from(["\ufffe", "\uffff", "\u2028", "\u2029", "\ufeff", "é", "😀", "\x7f"]),
)


json_strings = st.lists(
    st.one_of(
        raw_characters,
        st.sampled_from(TRICKY_ESCAPES),
        st.integers(0, 0xFFFF).map(lambda code: f"\\u{code:04x}"),  # lone surrogates included
    ),
    max_size=8,
).map(lambda parts: '"' + "".join(parts) + '"')


NUMBER_LITERALS = [
    "0",
    "-0",
    "-0.0",
    "1e400",
    "-1e400",
    "1E+400",
    "2e308",
    "1.7976931348623157e308",  # the largest double
    "1.7976931348623159e308",  # rounds to Infinity
    "1e-400",  # underflows to 0
    "4.9e-324",
    "123456789012345678901234567890",
    "NaN",
    "Infinity",
    "-Infinity",
]


numbers = st.one_of(
    st.sampled_from(NUMBER_LITERALS),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


scalars = st.one_of(json_strings, numbers, st.sampled_from(["true", "false", "null"]))


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{key}:{value}" for key, value in pairs) + "}"


json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(_array),
        st.lists(st.tuples(json_strings, children), max_size=4).map(_object),
        # The same key twice, with different values.
        st.tuples(json_strings, children, children).map(
            lambda t: _object([(t[0], t[1]), (t[0], t[2])])
        ),
    ),
    max_leaves=12,
)


def _submission(value: str) -> str:
    return f'{{"email": "{EMAIL}", "x": {value}}}'


def _nested_submission(depth: int, inner: str) -> str:
    """A submission nested `depth` levels in all (the submission's object is the first)."""
    return _submission("[" * (depth - 1) + inner + "]" * (depth - 1))


json_documents = st.one_of(
    json_values,
    json_values.map(_submission),
    st.builds(_nested_submission, st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), scalars),
    st.builds(lambda ws, doc: ws + doc + ws, st.sampled_from([" ", "\n", "\t\r\n"]), json_values),
    json_values.map(_submission).map(lambda doc: doc[: len(doc) // 2]),  # cut short
)


json_object_documents = st.one_of(
    json_values.map(_submission),
    st.builds(_nested_submission, st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), scalars),
    st.lists(st.tuples(json_strings, json_values), max_size=4).map(_object),
)


class Refused(Exception):
    pass


def reference_reading(text: str) -> Any:
    """The payload docs/security.md's policy makes of `text`, or Refused: RFC 8259 JSON; no NaN,
    Infinity or number beyond a double; at most 64 levels; no lone surrogate; the last of
    duplicate keys wins."""
    try:
        # Refused where it stands in the text, even under a key that a later duplicate overrides.
        value = json.loads(text, parse_constant=_refuse, parse_float=_finite)
    except (ValueError, RecursionError):
        raise Refused from None
    return held_to_policy(value)


def held_to_policy(value: Any, depth: int = 1) -> Any:
    """The same for a value Python's json has already parsed (EventBridge, direct invokes)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise Refused
    if isinstance(value, str):
        if re.search("[\ud800-\udfff]", value):
            raise Refused
        return value
    if isinstance(value, list | dict) and depth > MAX_DEPTH:
        raise Refused
    if isinstance(value, list):
        return [held_to_policy(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {held_to_policy(k): held_to_policy(v, depth + 1) for k, v in value.items()}
    return value


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _finite(text: str) -> float:
    if not math.isfinite(number := float(text)):
        raise ValueError(text)
    return number
