"""Hypothesis strategies for encoded bodies: multipart/form-data with its own part headers,
charsets and malformations, and base64 as API Gateway and other senders write it."""

from __future__ import annotations

import base64
import string

from hypothesis import strategies as st

from tests.integration.fuzzing.json_text_strategies import EMAIL, json_documents

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
