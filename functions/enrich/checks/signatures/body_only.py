"""Presets whose signature is an HMAC-SHA256 of the body alone: no timestamp, no id.

| scheme | header | value | source |
| --- | --- | --- | --- |
| typeform | Typeform-Signature | sha256=<base64> | Typeform's "Secure your webhooks" |
| tally | Tally-Signature | <base64> | Tally's webhooks documentation |
| github | X-Hub-Signature-256 | sha256=<hex> | GitHub's "Validating webhook deliveries" |
| formstack | X-FS-Signature | sha256=<hex> | Formstack's help (below) |

Formstack's help names the header ("If left blank, X-FS-Signature will be used as the HMAC
header") but not the digest: HMAC-SHA256 of the raw body, lower-case hex after `sha256=`, is what
its deliveries carry (a captured one is a test vector in tests/unit/test_form_tool_signatures.py).

Such a signature never expires: a captured request verifies for ever, which is why these
secrets serve one scheme only (routes.route_secrets).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from checks.signatures.signed_requests import (
    OWS,
    SignedRequest,
    any_equal,
    hmac_sha256,
    unauthorized,
)
from settings.signature_scheme_names import FORMSTACK, GITHUB, TALLY, TYPEFORM


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _hex(digest: bytes) -> str:
    return digest.hex()


# The header, what precedes the signature in it, and how the HMAC-SHA256 is written.
PRESETS: dict[str, tuple[str, str, Callable[[bytes], str]]] = {
    TYPEFORM: ("typeform-signature", "sha256=", _b64),
    TALLY: ("tally-signature", "", _b64),
    GITHUB: ("x-hub-signature-256", "sha256=", _hex),
    FORMSTACK: ("x-fs-signature", "sha256=", _hex),
}


def verify(scheme: str, secrets: tuple[str, ...], request: SignedRequest) -> None:
    header_name, prefix, encode = PRESETS[scheme]
    header = request.headers.get(header_name)
    if not header:
        raise unauthorized("the signature header is missing")
    if not header.startswith(prefix):
        raise unauthorized("the signature header is malformed")
    offered = [header[len(prefix) :].strip(OWS)]
    expected = [encode(hmac_sha256(secret.encode(), request.body)) for secret in secrets]
    if not any_equal(offered, expected):
        raise unauthorized("the signature does not match")
