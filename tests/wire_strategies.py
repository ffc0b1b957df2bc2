"""Hypothesis strategies over the whole wire space, not only what json.dumps or st.text() write:
JSON text written by hand (escapes, lone surrogates, `\\u0000`, numbers beyond a double, nesting
around the limit, duplicate keys), multipart bodies with their own part headers, charsets and
malformations, base64 variants, raw bytes.

`reference_reading` says, independently of the function's code, what the JSON policy in
docs/security.md makes of a JSON text, so that the fuzz tests can check the answer and the
payload, not only that there was one.
"""

from __future__ import annotations

import base64
import json
import math
import re
import string
from typing import Any

from hypothesis import strategies as st

EMAIL = "customer@example.com"
MAX_DEPTH = 64  # docs/security.md: JSON nested deeper than 64 levels is refused

# --- JSON text --------------------------------------------------------------------------------

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


# --- multipart/form-data ----------------------------------------------------------------------

BCHARS = string.ascii_letters + string.digits + "'()+_,-./:=? "
BROWSER_BOUNDARIES = [
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",  # Chrome, Safari
    "----geckoformboundary5c8e2f6b1a9d4e7f3c0b2a1d9e8f7a6b",  # Firefox
    "---------------------------9051914041544843365972754266",  # older Firefox
]
boundaries = st.one_of(
    st.sampled_from(BROWSER_BOUNDARIES),
    st.text(BCHARS, min_size=1, max_size=70).filter(lambda b: not b.endswith(" ")),
    st.text(max_size=75),  # mostly not a legal boundary
)
GOOD_CHARSETS = [None, None, "utf-8", "UTF-8", "iso-8859-1", "windows-1252", "shift_jis", "utf-16"]
BAD_CHARSETS = ["utf-7", "klingon", "base64", ""]  # none of them a charset this function reads
part_charsets = st.sampled_from(GOOD_CHARSETS + BAD_CHARSETS)
FIELD_TYPES = [None, None, "text/plain", "application/json", "application/vnd.x+json", "text/json"]
FILE_TYPES = ["application/octet-stream", "image/png", "multipart/mixed; boundary=inner"]
part_types = st.sampled_from(FIELD_TYPES + FILE_TYPES)
MALFORMATIONS = ["none"] * 6 + [
    "no-blank-line",
    "no-disposition",
    "folded-header",
    "no-name",
    "extra-headers",
    "long-header",
]


@st.composite
def multipart_parts(draw: st.DrawFn) -> bytes:
    name = draw(st.one_of(st.sampled_from(["email", "name", "data", "_charset_"]), st.text()))
    content_type = draw(part_types)
    charset = draw(part_charsets)
    malformation = draw(st.sampled_from(MALFORMATIONS))
    if content_type and "json" in content_type:
        text = draw(st.one_of(json_documents, st.just(f'{{"email": "{EMAIL}"}}')))
    else:
        text = draw(st.one_of(st.text(max_size=30), st.just(EMAIL), st.just("José Müller")))
    try:
        value = text.encode(charset or "utf-8")
    except (LookupError, UnicodeError):
        value = draw(st.binary(max_size=30))
    # As browsers quote names: `"` and line breaks percent-encoded, the rest UTF-8 as it is.
    quoted = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    disposition = f'Content-Disposition: form-data; name="{quoted}"'
    if malformation == "no-name":
        disposition = "Content-Disposition: form-data"
    if draw(st.booleans()) and draw(st.booleans()):
        disposition += f'; filename="{draw(st.sampled_from(["", "cv.pdf", "ü.txt"]))}"'
    headers = [] if malformation == "no-disposition" else [disposition]
    if content_type:
        headers.append(
            f"Content-Type: {content_type}" + (f"; charset={charset}" if charset else "")
        )
    if malformation == "folded-header":
        headers.append("X-Folded: one\r\n two")
    if malformation == "extra-headers":
        headers += [f"X-Extra-{i}: {i}" for i in range(draw(st.integers(1, 10)))]
    if malformation == "long-header":
        headers.append("X-Long: " + "x" * draw(st.integers(4_000, 4_200)))
    head = "\r\n".join(headers).encode("utf-8", "surrogatepass")
    separator = b"\r\n" if malformation == "no-blank-line" else b"\r\n\r\n"
    return head + separator + value


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    boundary = draw(boundaries)
    delimiter = b"--" + boundary.encode("utf-8", "surrogatepass")
    parts = draw(st.lists(multipart_parts(), max_size=5))
    body = draw(st.sampled_from([b"", b"preamble\r\n"]))
    body += b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    if draw(st.integers(0, 9)):  # mostly closed properly
        body += delimiter + b"--" + draw(st.sampled_from([b"", b"\r\n", b"\r\nepilogue"]))
    if draw(st.integers(0, 4)) == 0:
        body = body.replace(b"\r\n", b"\n")  # LF-only, as hand-written bodies come
    quoting = draw(st.sampled_from(["quoted", "bare", "missing"]))
    content_type = "multipart/form-data"
    if quoting != "missing":
        content_type += (
            f'; boundary="{boundary}"' if quoting == "quoted" else f"; boundary={boundary}"
        )
    return body, content_type


# --- base64 -----------------------------------------------------------------------------------


def base64_variants(raw: bytes) -> st.SearchStrategy[str]:
    """What API Gateway sends (standard alphabet, padded) and what some other sender might."""
    standard = base64.b64encode(raw).decode()
    return st.sampled_from(
        [
            standard,
            standard,
            base64.urlsafe_b64encode(raw).decode(),
            standard.rstrip("="),
            base64.encodebytes(raw).decode(),  # MIME: lines of 76 with newlines
            " " + standard,
            standard + "!",
            standard + "==",
        ]
    )


# --- rate-limit headers -------------------------------------------------------------------------
# A field value as HTTP/1.1 carries it (RFC 9110 5.5): visible ASCII and obs-text (the bytes
# 0x80-0xFF, read as latin-1), with spaces and tabs inside; the parser drops those around it.
FIELD_VALUE_CHARACTERS = st.characters(
    codec="latin-1", exclude_categories=("Cc",), include_characters="\t "
)
field_values = st.text(FIELD_VALUE_CHARACTERS, max_size=40)
_WHITESPACE = st.sampled_from(["", "", " ", "\t", "  "])
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@st.composite
def http_dates(draw: st.DrawFn) -> str:
    """HTTP-dates in the three forms RFC 9110 names (IMF-fixdate, RFC 850, asctime), from the
    distant past to the distant future, and with fields no calendar has (day 32, hour 99)."""
    year = draw(st.integers(1, 9999))
    month = draw(st.sampled_from(_MONTH_NAMES))
    day = draw(st.integers(0, 32))
    hour, minute, second = (draw(st.integers(0, 99)) for _ in range(3))
    weekday = draw(st.sampled_from(_DAY_NAMES))
    zone = draw(st.sampled_from(["GMT", "GMT", "UTC", "+0200", "-1100", "PST", "XYZ", ""]))
    clock = f"{hour:02d}:{minute:02d}:{second:02d}"
    return draw(
        st.sampled_from(
            [
                f"{weekday}, {day:02d} {month} {year:04d} {clock} {zone}".rstrip(),
                f"{weekday}day, {day:02d}-{month}-{year % 100:02d} {clock} {zone}".rstrip(),
                f"{weekday} {month} {day:2d} {clock} {year}",
            ]
        )
    )


def _near_now(offset: float) -> str:
    import email.utils
    import time

    return email.utils.formatdate(time.time() + offset, usegmt=True)


retry_after_values = st.one_of(
    st.integers(0, 10**15).map(str),  # delay-seconds, up to the absurd
    st.builds(lambda a, n, b: f"{a}{n}{b}", _WHITESPACE, st.integers(0, 5000), _WHITESPACE),
    st.integers(-(10**6), -1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),  # 1.5, nan, inf, 1e+300
    # Digits of another script arrive as their UTF-8 bytes (obs-text), never as digits.
    st.sampled_from(["", " ", "abc", "+5", "0x1F", "1,000", "5s", "١٢".encode().decode("latin-1")]),
    http_dates(),
    st.floats(-(10**6), 10**6).map(_near_now),  # real dates around now: past, soon, far off
    field_values,
)
rate_limit_values = st.one_of(
    st.integers(-5, 10**13).map(str),
    st.builds(lambda a, n, b: f"{a}{n}{b}", _WHITESPACE, st.integers(0, 30), _WHITESPACE),
    st.sampled_from(["", "0", "00", "0.0", "-0", "1.5", "abc", "20, 20;w=1"]),
    field_values,
)


# What a record's SentTimestamp or ApproximateReceiveCount can be in an event that did not come
# from SQS (a direct invoke shaped like a batch): SQS sends whole numbers as strings.
_NOW_MS = st.integers(0, 2 * 10**13).map(str)
receipt_attribute_values = st.one_of(
    _NOW_MS,
    st.integers(-(10**20), 10**40).map(str),
    st.builds(lambda a, n, b: f"{a}{n}{b}", _WHITESPACE, st.integers(0, 10**13), _WHITESPACE),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "0", "-0", "00001", "1e12", "0x10", "١٢", "5\n", "None"]),
    st.none() | st.booleans() | st.integers() | st.floats() | st.lists(st.text(max_size=4)),
    field_values,
)


# --- odd shapes of every source's event ---------------------------------------------------------

# What a field of a Lambda event can be replaced with: any JSON value a direct invoke can carry.
odd_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple = (), depth: int = 0) -> list[tuple]:
    """Every key (or list index) down to three levels: what a mutation can reach."""
    found = []
    if depth < 3 and isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found += _paths(child, (*prefix, key), depth + 1)
    elif depth < 3 and isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found.append((*prefix, index))
            found += _paths(child, (*prefix, index), depth + 1)
    return found


@st.composite
def odd_shapes(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    """`event` (a real one, as AWS shapes it) with one to three fields removed or replaced by
    another JSON value: the shape of a direct invoke that only looks like that source."""
    mutated = json.loads(json.dumps(event))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(mutated)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(odd_values)
    return mutated


# --- bodies that claim to be queued webhooks ----------------------------------------------------

QUEUED_SCHEMA = "queued-webhook/v1"


@st.composite
def queued_claims(draw: st.DrawFn) -> dict[str, Any]:
    """An intake body that says it is a queued webhook, well formed or not: what another
    producer on the intake queue can write (and what the edge writes, for the signed ones)."""
    claim: dict[str, Any] = {
        "schema": QUEUED_SCHEMA,
        "event_id": draw(st.one_of(st.text(min_size=1, max_size=20), odd_values)),
        "received_at": draw(st.one_of(st.just("2026-11-28T10:00:00.000Z"), odd_values)),
        "source": draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(["http", "eventbridge", "direct", "sqs"]),
                        "provider": st.sampled_from(["typeform", "tally", "website"]),
                    }
                ),
                odd_values,
            )
        ),
        "email": draw(st.one_of(st.just(EMAIL), st.none(), odd_values)),
        "email_path": draw(st.one_of(st.just("email"), odd_values)),
        "payload": draw(st.one_of(st.just({"email": EMAIL}), odd_values)),
    }
    optional = sorted(key for key in claim if key != "schema")
    for key in draw(st.lists(st.sampled_from(optional), max_size=2, unique=True)):
        del claim[key]
    return claim
