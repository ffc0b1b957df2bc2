"""Bodies as senders send them, and the refusals for bodies that are not what they claim."""

import json

import pytest

from checks.body_parsing import MAX_FORM_FIELDS, parse_body
from checks.check_failures import CheckFailed
from checks.strict_json import MAX_JSON_DEPTH
from intake.answers import STATUS_AND_CODE, refusal_for


def refusal(body: bytes, content_type: str | None) -> tuple[int, str]:
    with pytest.raises(CheckFailed) as caught:
        parse_body(body, content_type)
    return STATUS_AND_CODE[caught.value.reason]


def test_json_with_parameters_and_vendor_types():
    assert parse_body(b'{"a": 1}', "Application/JSON; charset=UTF-8") == {"a": 1}
    assert parse_body(b'{"a": 1}', "application/vnd.api+json") == {"a": 1}


def test_form_urlencoded_keeps_blanks_and_collects_repeated_names():
    body = b"email=a%2Bb%40x.io&empty=&tag=1&tag=2"
    assert parse_body(body, "application/x-www-form-urlencoded") == {
        "email": "a+b@x.io",
        "empty": "",
        "tag": ["1", "2"],
    }


def test_multipart_text_fields_only():
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\nm@x.io\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    assert parse_body(body, f"multipart/form-data; boundary={boundary}") == {"email": "m@x.io"}


def test_missing_content_type_is_sniffed():
    assert parse_body(b' {"email": "a@x.io"}', None) == {"email": "a@x.io"}
    assert parse_body(b"email=a%40x.io", None) == {"email": "a@x.io"}


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", "application/json", (400, "bad_request")),
        (b"   ", "application/json", (400, "bad_request")),
        (b'{"email": ', "application/json", (400, "bad_request")),
        (b'{"a": NaN}', "application/json", (400, "bad_request")),
        (b"\xff\xfe{", "application/json", (400, "bad_request")),
        (b"just words", "application/x-www-form-urlencoded", (400, "bad_request")),
        (b"a=\xff", "application/x-www-form-urlencoded", (400, "bad_request")),
        (b"--x\r\nnot really", "multipart/form-data", (400, "bad_request")),
        (b"<a/>", "application/xml", (415, "unsupported_media_type")),
        (b"email=a@x.io", "text/plain", (415, "unsupported_media_type")),
    ],
)
def test_refusals(body, content_type, expected):
    assert refusal(body, content_type) == expected


def test_deep_json_is_refused_without_recursion_errors():
    depth = MAX_JSON_DEPTH + 1
    assert refusal(b"[" * depth + b"]" * depth, "application/json") == (400, "bad_request")
    assert refusal(b"[" * 100_000 + b"]" * 100_000, "application/json") == (400, "bad_request")
    ok = MAX_JSON_DEPTH
    assert parse_body(b"[" * ok + b"]" * ok, "application/json") is not None


def test_too_many_form_fields_is_refused():
    body = "&".join(f"f{i}=v" for i in range(MAX_FORM_FIELDS + 1)).encode()
    assert refusal(body, "application/x-www-form-urlencoded") == (400, "bad_request")


def test_refusal_body_shape():
    with pytest.raises(CheckFailed) as caught:
        parse_body(b"{", "application/json")
    assert json.loads(json.dumps(refusal_for(caught.value).to_dict())) == {
        "error": {"code": "bad_request", "message": "the body is not valid JSON"}
    }
