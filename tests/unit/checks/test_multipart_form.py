"""multipart/form-data as browsers and other senders shape it, and the bodies that are refused."""

import pytest

from checks.body_parsing import MAX_FORM_FIELDS, parse_body
from checks.check_failures import CheckFailed
from intake.answers import STATUS_AND_CODE

CRLF = b"\r\n"
# Boundaries as each sender writes them.
BROWSER_BOUNDARIES = {
    "chrome": "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "safari": "----WebKitFormBoundaryq1N9ZhUIPZkLhw9E",
    "firefox": "----geckoformboundary5c8e2f6b1a9d4e7f3c0b2a1d9e8f7a6b",
    "firefox-legacy": "---------------------------9051914041544843365972754266",
    "curl": "------------------------d74496d66958873e",
}


def part(name: str | None, value: bytes, *headers: str, filename: str | None = None) -> bytes:
    disposition = "Content-Disposition: form-data"
    if name is not None:
        # As browsers quote names (WHATWG): UTF-8 as it is, `"` and line breaks percent-encoded.
        disposition += f'; name="{name.replace(chr(34), "%22")}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    lines = [disposition, *headers]
    return CRLF.join(line.encode() for line in lines) + CRLF + CRLF + value


def form(boundary: str, *parts: bytes, epilogue: bytes = CRLF) -> bytes:
    delimiter = b"--" + boundary.encode()
    body = b"".join(delimiter + CRLF + p + CRLF for p in parts)
    return body + delimiter + b"--" + epilogue


def parse(body: bytes, boundary: str, quoted: bool = False) -> dict:
    value = f'"{boundary}"' if quoted else boundary
    return parse_body(body, f"multipart/form-data; boundary={value}")


def refusal(body: bytes, content_type: str) -> str:
    with pytest.raises(CheckFailed) as caught:
        parse_body(body, content_type)
    assert STATUS_AND_CODE[caught.value.reason] == (400, "bad_request")
    return caught.value.message


@pytest.mark.parametrize("sender", list(BROWSER_BOUNDARIES))
def test_browser_bodies_are_utf8_by_default(sender):
    boundary = BROWSER_BOUNDARIES[sender]
    body = form(
        boundary,
        part("name", "José Müller".encode()),
        part("Straße", "Hauptstraße 5".encode()),
        part('say "hi"', b"hello"),
        part("email", b"jose@example.com"),
        part("message", "first line\r\nzweite Zeile ✓".encode()),
        part("cv", b"", "Content-Type: application/octet-stream", filename=""),  # no file chosen
        part("photo", b"\x89PNG\r\n\x1a\n\x00", "Content-Type: image/png", filename="me.png"),
        part("empty", b""),
    )
    assert parse(body, boundary) == {
        "name": "José Müller",
        "Straße": "Hauptstraße 5",
        'say "hi"': "hello",
        "email": "jose@example.com",
        "message": "first line\r\nzweite Zeile ✓",
        "empty": "",
    }


@pytest.mark.parametrize("boundary", ["'()+_,-./:=?", "a b c", "simple", "x" * 70])
def test_every_rfc2046_boundary_is_accepted(boundary):
    body = form(boundary, part("email", b"a@x.io"), part("tag", b"1"), part("tag", b"2"))
    assert parse(body, boundary, quoted=True) == {"email": "a@x.io", "tag": ["1", "2"]}


def test_an_unquoted_boundary_with_rfc2046_specials_is_read_whole():
    boundary = "ab:cd=ef/gh?"
    assert parse(form(boundary, part("a", b"1")), boundary) == {"a": "1"}


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", "José Müller"),
        ("windows-1252", "€ 5, “quoted”"),
        ("shift_jis", "山田太郎"),
        ("utf-16", "Zoë 😀"),
        ("UTF-8", "Ünïcödé"),
    ],
)
def test_each_part_is_decoded_by_its_own_charset(charset, text):
    body = form(
        "b",
        part("name", text.encode(charset), f"Content-Type: text/plain; charset={charset}"),
        part("plain", "déjà".encode()),
    )
    assert parse(body, "b") == {"name": text, "plain": "déjà"}


def test_the_charset_field_sets_the_default_for_parts_without_one():
    body = form(
        "b",
        part("_charset_", b"iso-8859-1"),
        part("name", "José".encode("latin-1")),
        part("utf8", "José".encode(), "Content-Type: text/plain; charset=utf-8"),
    )
    assert parse(body, "b") == {"_charset_": "iso-8859-1", "name": "José", "utf8": "José"}


def test_a_part_of_its_own_json_type_is_parsed_by_the_json_policy():
    body = form(
        "b",
        part(
            "data",
            b'{"email": "a@x.io", "note": "caf\\u00e9", "n": [1, 2.5]}',
            "Content-Type: application/json",
        ),
        part("vendor", b"[true]", "Content-Type: application/vnd.form+json"),
    )
    assert parse(body, "b") == {
        "data": {"email": "a@x.io", "note": "caf\u00e9", "n": [1, 2.5]},
        "vendor": [True],
    }
    for poison in (b'{"n": NaN}', b'{"n": 1e400}', b"{not json", b'"\xff"', b'"\\ud800"'):
        with pytest.raises(CheckFailed) as caught:
            parse(form("b", part("data", poison, "Content-Type: application/json")), "b")
        assert STATUS_AND_CODE[caught.value.reason][0] == 400


def test_lf_only_line_endings_are_read_as_crlf():
    boundary = BROWSER_BOUNDARIES["curl"]
    body = form(boundary, part("name", "José".encode()), part("email", b"a@x.io"))
    assert parse(body.replace(CRLF, b"\n"), boundary) == {"name": "José", "email": "a@x.io"}


def test_nested_multipart_and_binary_parts_are_files_never_recursed_into():
    inner = form("inner", part("deep", b"x"))
    body = form(
        "outer",
        part("files", inner, "Content-Type: multipart/mixed; boundary=inner"),
        part("blob", b"\x00\xff", "Content-Type: application/octet-stream"),
        part("email", b"a@x.io"),
    )
    assert parse(body, "outer") == {"email": "a@x.io"}


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (form("b", b"Content-Type: text/plain\r\n\r\nx"), "b", "content-disposition"),
        (b'--b\r\nContent-Disposition: form-data; name="a"\r\nvalue\r\n--b--', "b", "header"),
        (b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n', "b", "end"),
        (form("b", part(None, b"x")), "b", "name"),
        (
            form("b", b'Content-Disposition: form-data;\r\n name="a"\r\n\r\nx'),
            "b",
            "continuation",
        ),
        (b"preamble--b\r\n" + part("a", b"x") + b"\r\n--b--", "b", "boundary"),
        (form("b", part("a", b"\xff\xfe\xfd")), "b", "not valid utf-8"),
        (form("b", part("a", b"x", "Content-Type: text/plain; charset=klingon")), "b", "charset"),
        (
            form("b", part("a", b"+AGEAYgBj-", "Content-Type: text/plain; charset=utf-7")),
            "b",
            "charset",
        ),
        (form("b", part("a", b"x", "Content-Type: text/plain; charset=base64")), "b", "charset"),
        (form("a@b", part("a", b"x")), "a@b", "boundary"),
        (form("x" * 71, part("a", b"x")), "x" * 71, "boundary"),
        (form("ends ", part("a", b"x")), '"ends "', "boundary"),
    ],
    ids=[
        "no-content-disposition",
        "no-blank-line-after-headers",
        "no-closing-boundary",
        "no-name",
        "folded-header",
        "bytes-glued-to-the-first-boundary",
        "bytes-not-in-the-charset",
        "unknown-charset",
        "utf-7",
        "bytes-to-bytes-codec",
        "boundary-with-a-non-bchar",
        "boundary-of-71-characters",
        "boundary-ending-in-a-space",
    ],
)
def test_malformed_bodies_are_refused(body, content_type, reason):
    message = refusal(body, f"multipart/form-data; boundary={content_type}")
    assert reason in message.lower()


def test_a_missing_boundary_is_refused():
    assert "boundary" in refusal(form("b", part("a", b"x")), "multipart/form-data")


def test_limits_on_parts_and_part_headers():
    many = form("b", *(part(f"f{i}", b"v") for i in range(MAX_FORM_FIELDS + 1)))
    assert "limit" in refusal(many, "multipart/form-data; boundary=b")
    long_header = form("b", part("a", b"x", "X-Padding: " + "p" * 5_000))
    assert "limit" in refusal(long_header, "multipart/form-data; boundary=b")
    many_headers = form("b", part("a", b"x", *(f"X-H{i}: v" for i in range(8))))
    assert "limit" in refusal(many_headers, "multipart/form-data; boundary=b")
    at_limit = form("b", *(part(f"f{i}", b"v") for i in range(MAX_FORM_FIELDS)))
    assert len(parse(at_limit, "b")) == MAX_FORM_FIELDS
