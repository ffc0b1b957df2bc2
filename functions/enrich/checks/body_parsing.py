"""Turns a webhook body into the submission it carries: JSON, URL-encoded or multipart form data."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from checks import strict_json
from checks.charsets import decode_text
from checks.check_failures import BodyRejected, MediaTypeRejected

# Form tools send tens of fields; thousands are not a form. Bounds the parser's work.
MAX_FORM_FIELDS = 1_000

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
        raise BodyRejected("the body is empty")
    if content_type and not content_type.isprintable():  # control characters: not a media type
        raise MediaTypeRejected("the Content-Type header is malformed")
    kind, params = media_type(content_type)
    if not kind:
        # No Content-Type: JSON if it looks like JSON, else a form.
        kind = "application/json" if body.lstrip()[:1] in (b"{", b"[") else FORM_TYPE
    if kind in JSON_TYPES or kind.endswith("+json"):
        return parse_json(body)
    if kind == FORM_TYPE:
        return parse_form(body, params.get("charset", "utf-8"))
    if kind == MULTIPART_TYPE:
        from checks.multipart_form import parse_multipart  # only forms with files are multipart

        return _collect_fields(parse_multipart(body, params.get("boundary"), MAX_FORM_FIELDS))
    raise MediaTypeRejected(f"{kind} is not supported; send JSON or form data")


def parse_json(body: bytes) -> Any:
    """JSON by the policy in strict_json: NaN, Infinity, 1e400 and lone surrogates refused,
    nesting bounded."""
    return strict_json.loads(body)


def parse_form(body: bytes, charset: str) -> dict[str, Any]:
    text = decode_text(body, charset, "the body")
    try:
        # Percent-escapes are bytes in the same charset; invalid ones become U+FFFD, as WHATWG's
        # URL-encoded parser says.
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            max_num_fields=MAX_FORM_FIELDS,
            encoding=charset,
            errors="replace",
        )
    except ValueError:
        raise BodyRejected("the body is not URL-encoded form data") from None
    return _collect_fields(pairs)


def _collect_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
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
