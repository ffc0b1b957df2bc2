"""Turns a webhook body into the submission it carries: JSON, URL-encoded or multipart form data."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from refusals import Refusal

# Form tools send tens of fields; thousands are not a form. Bounds the parser's work.
MAX_FORM_FIELDS = 1_000
# Deeper JSON than this is no form submission, and would cost recursion later (logging, SQS).
MAX_JSON_DEPTH = 64

JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """`Application/JSON; charset=UTF-8` → ("application/json", {"charset": "UTF-8"})."""
    if not content_type:
        return "", {}
    kind, *params = content_type.split(";")
    values = {}
    for param in params:
        name, separator, value = param.partition("=")
        if separator:
            values[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), values


def parse_body(body: bytes, content_type: str | None) -> Any:
    if not body.strip():
        raise Refusal(400, "bad_request", "the body is empty")
    if content_type and not content_type.isprintable():  # control characters: not a media type
        raise Refusal(415, "unsupported_media_type", "the Content-Type header is malformed")
    kind, params = media_type(content_type)
    if not kind:
        # No Content-Type: JSON if it looks like JSON, else a form.
        kind = "application/json" if body.lstrip()[:1] in (b"{", b"[") else FORM_TYPE
    if kind in JSON_TYPES or kind.endswith("+json"):
        return parse_json(body)
    if kind == FORM_TYPE:
        return parse_form(body, params.get("charset", "utf-8"))
    if kind == MULTIPART_TYPE:
        return parse_multipart(body, content_type or "")
    raise Refusal(415, "unsupported_media_type", f"{kind} is not supported; send JSON or form data")


def parse_json(body: bytes) -> Any:
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise Refusal(400, "bad_request", "the body is not valid JSON") from None
    if _depth_exceeds(payload, MAX_JSON_DEPTH):
        raise Refusal(400, "bad_request", f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    return payload


def parse_form(body: bytes, charset: str) -> dict[str, Any]:
    try:
        text = body.decode(charset)
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (LookupError, UnicodeDecodeError, ValueError):
        raise Refusal(400, "bad_request", "the body is not URL-encoded form data") from None
    return _collect_fields(pairs)


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Text fields of a multipart/form-data body (Jotform sends these); files are left out."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise Refusal(400, "bad_request", "the body is not multipart form data")
    pairs: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename() is not None:
            continue
        try:
            pairs.append((str(name), part.get_content()))
        except (LookupError, UnicodeDecodeError, KeyError):
            raise Refusal(400, "bad_request", "a multipart field could not be decoded") from None
        if len(pairs) > MAX_FORM_FIELDS:
            raise Refusal(400, "bad_request", f"more than {MAX_FORM_FIELDS} form fields")
    return _collect_fields(pairs)


def _collect_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """One value per name, or a list when a name repeats (checkboxes)."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; consumers would not


def _depth_exceeds(payload: Any, limit: int) -> bool:
    stack = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
