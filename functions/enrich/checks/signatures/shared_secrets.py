"""Schemes for tools that cannot sign: the route's secret itself travels with the request.

- token: the `token` query parameter (`.../webhooks/jotform?token=<secret>`), or, where the tool
  can set headers, `Authorization: Bearer <secret>`. Exactly one of them, given once.
- wufoo: Wufoo's WebHooks integration sends the Handshake Key you choose "as a post parameter"
  (`HandshakeKey`, help.wufoo.com "Webhooks"); Formstack's webhooks carry the same field.

Compared in constant time. The secret never goes further: the forwarded event holds neither the
query nor the headers, and without_secret_fields() drops HandshakeKey from the payload.

What it protects: a stranger who guesses or scans the endpoint cannot post to it. What it does
not: anyone who can read the URL (a log that keeps query strings, the tool's settings page, a
proxy) can replay or forge submissions until the secret is rotated; nothing ties it to the body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from checks.body_parsing import JSON_TYPES, media_type
from checks.signatures.signed_requests import OWS, SignedRequest, any_equal, unauthorized

TOKEN_PARAMETER = "token"  # noqa: S105 (a name, not a secret)
HANDSHAKE_FIELD = "HandshakeKey"
# A form body has few fields; parse_qsl stops (ValueError) past this many.
_MAX_FORM_FIELDS = 1000


def token(secrets: tuple[str, ...], request: SignedRequest) -> None:
    offered = [value for name, value in request.query if name == TOKEN_PARAMETER]
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.strip(OWS).partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip(OWS):
            raise unauthorized("the Authorization header must be Bearer <token>")
        offered.append(credentials.strip(OWS))
    if not offered:
        raise unauthorized("a token is required: ?token=<token> or Authorization: Bearer <token>")
    if len(offered) > 1:
        raise unauthorized("give the token once")
    if not any_equal(offered, secrets):
        raise unauthorized("the token does not match")


def wufoo(secrets: tuple[str, ...], request: SignedRequest) -> None:
    offered = handshake_keys(request.body, request.content_type)
    if not offered:
        raise unauthorized(f"the {HANDSHAKE_FIELD} field is required")
    if len(offered) > 1:
        raise unauthorized(f"give the {HANDSHAKE_FIELD} field once")
    if not any_equal(offered, secrets):
        raise unauthorized(f"the {HANDSHAKE_FIELD} does not match")


def handshake_keys(body: bytes, content_type: str | None) -> list[str]:
    """Every HandshakeKey value in a form or JSON body (empty when it cannot be read)."""
    kind, _ = media_type(content_type)
    text = body.decode("utf-8", "replace")
    if kind in JSON_TYPES or kind.endswith("+json"):
        try:
            document = json.loads(text)
        except ValueError:
            return []
        value = document.get(HANDSHAKE_FIELD) if isinstance(document, dict) else None
        return [value] if isinstance(value, str) else []
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:
        return []
    return [value for name, value in fields if name == HANDSHAKE_FIELD]


def without_secret_fields(payload: Any) -> Any:
    """The payload without its HandshakeKey: a secret is never forwarded."""
    if isinstance(payload, dict) and HANDSHAKE_FIELD in payload:
        return {key: value for key, value in payload.items() if key != HANDSHAKE_FIELD}
    return payload
