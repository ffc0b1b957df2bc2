"""multipart/form-data (RFC 7578) through `multipart`, a maintained streaming form-data parser.

- The boundary is any RFC 2046 boundary (1-70 of `0-9A-Za-z'()+_,-./:=?` and inner spaces).
- Text parts are decoded by their own `charset`, else by the form's `_charset_` field (RFC 7578
  4.6), else as UTF-8, as browsers send them. A part whose own Content-Type is JSON is parsed as
  JSON by the same rules as a JSON body, and its value is the parsed JSON.
- Parts with a filename (an empty file input too) or another media type are files: left out.
- Malformed bodies are refused (no Content-Disposition, no blank line after a part's headers, a
  missing closing boundary, a charset a part does not follow), within limits on parts and headers.
- LF-only line endings (hand-written bodies; browsers send CRLF) are read as CRLF when the body
  holds no CR at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import multipart

from checks import strict_json
from checks.charsets import decode_text
from checks.check_failures import BodyRejected

MAX_PART_HEADER_BYTES = 4_096  # one header line; a browser's are well under 1 KiB
MAX_PART_HEADERS = 8  # RFC 7578 needs three at most
DEFAULT_CHARSET = "utf-8"
# RFC 2046 5.1.1: bchars, 1 to 70 of them, the last not a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_JSON_TYPES = ("application/json", "text/json")


@dataclass(slots=True)
class _Part:
    name: str
    content_type: str
    charset: str | None
    chunks: list[bytes] = field(default_factory=list)


def parse_multipart(body: bytes, boundary: str | None, max_parts: int) -> list[tuple[str, Any]]:
    """(name, value) of each form field in order; raises BodyRejected for a malformed body."""
    if not boundary or not _BOUNDARY.fullmatch(boundary):
        raise BodyRejected("the multipart boundary is missing or not valid")
    if b"\r" not in body:
        body = body.replace(b"\n", b"\r\n")
    parts = _read_parts(body, boundary, max_parts)
    default_charset = DEFAULT_CHARSET
    for part in parts:
        if part.name == "_charset_" and part.content_type == "text/plain":
            default_charset = _decoded(part, DEFAULT_CHARSET).strip() or DEFAULT_CHARSET
    return [(part.name, _value(part, default_charset)) for part in parts]


def _read_parts(body: bytes, boundary: str, max_parts: int) -> list[_Part]:
    parser = multipart.PushMultipartParser(
        boundary,
        max_header_size=MAX_PART_HEADER_BYTES,
        max_header_count=MAX_PART_HEADERS,
        max_segment_count=max_parts,
        strict=True,  # refuses what browsers never send: folded headers, parts without a name
    )
    parts: list[_Part] = []
    current: _Part | None = None
    try:
        for event in chain(parser.parse(body), parser.parse(b"")):  # b"": the end of the body
            if isinstance(event, multipart.MultipartSegment):
                current = _field(event)
                if current is not None:
                    parts.append(current)
            elif event is not None and current is not None:
                current.chunks.append(event)
    except multipart.ParserLimitReached as exc:
        message = f"the multipart body is over a limit: {_reason(exc)}"
        raise BodyRejected(message) from None
    except multipart.MultipartError as exc:
        message = f"the body is not multipart form data: {_reason(exc)}"
        raise BodyRejected(message) from None
    return parts


def _field(segment: multipart.MultipartSegment) -> _Part | None:
    """The part as a form field, or None for a file (whose bytes are then not kept)."""
    content_type = segment.content_type or "text/plain"
    is_text = content_type.startswith("text/") or _is_json(content_type)
    if segment.filename is not None or not is_text:
        return None
    return _Part(segment.name or "", content_type, segment.charset)


def _value(part: _Part, default_charset: str) -> Any:
    if _is_json(part.content_type):
        raw = b"".join(part.chunks)
        # JSON is UTF-8 (RFC 8259) unless the part says otherwise; json detects UTF-16/32 itself.
        return strict_json.loads(_decoded(part, part.charset) if part.charset else raw)
    return _decoded(part, part.charset or default_charset)


def _decoded(part: _Part, charset: str) -> str:
    return decode_text(b"".join(part.chunks), charset, "a multipart field")


def _is_json(content_type: str) -> bool:
    return content_type in _JSON_TYPES or content_type.endswith("+json")


def _reason(exc: multipart.MultipartError) -> str:
    """The library's own fixed message; never the input that caused it."""
    reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "malformed"
    return reason[:1].lower() + reason[1:]
