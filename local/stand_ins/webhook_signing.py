"""Signs requests the way each sender does, written from the senders' documentation: the
demo's, `make send`'s and the tests' own implementation, independent of the function's verifier
(checked against the Standard Webhooks reference implementation and the publishers' worked
examples in tests/unit/checks/test_webhook_signatures.py).

Each signer returns what the sender adds to its request: headers, query parameters, or (Wufoo)
a form field appended to the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode


@dataclass(frozen=True)
class Signed:
    """What signing adds to a request."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # the body to send instead, when the proof travels inside it


def standard_webhooks(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict:
    """v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>; a whsec_ key is base64."""
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    digest = hmac.new(key, f"{msg_id}.{sent_at}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": sent_at,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def typeform(secret: str, body: bytes) -> dict:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}


def tally(secret: str, body: bytes) -> dict:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"Tally-Signature": base64.b64encode(digest).decode()}


def github(secret: str, body: bytes) -> dict:
    return {
        "X-Hub-Signature-256": "sha256="
        + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


def formstack(secret: str, body: bytes) -> dict:
    """Formstack's HMAC Key: `X-FS-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    return {
        "X-FS-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


def webflow(secret: str, body: bytes, timestamp_ms: int | None = None) -> dict:
    """Webflow: hex HMAC-SHA256(client secret, timestamp + ":" + body), milliseconds."""
    sent_at = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    digest = hmac.new(secret.encode(), f"{sent_at}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-webflow-timestamp": sent_at, "x-webflow-signature": digest}


def hubspot_uri(url: str) -> str:
    """The URI as HubSpot's "Validating requests" page has it signed: these escapes decoded."""
    for escaped, character in (
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ):
        url = url.replace(escaped, character).replace(escaped.lower(), character)
    return url


def hubspot_v3(
    secret: str, method: str, url: str, body: bytes, timestamp_ms: int | None = None
) -> dict:
    """base64 HMAC-SHA256(client secret, method + URI + body + timestamp), milliseconds."""
    sent_at = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    signed = method.encode() + hubspot_uri(url).encode() + body + sent_at.encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": sent_at,
    }


def hubspot_v2(secret: str, method: str, url: str, body: bytes) -> str:
    """hex SHA-256 (not HMAC) of client secret + method + URI + body."""
    return hashlib.sha256(secret.encode() + method.encode() + url.encode() + body).hexdigest()


def hubspot_v1(secret: str, body: bytes) -> str:
    """hex SHA-256 (not HMAC) of client secret + body."""
    return hashlib.sha256(secret.encode() + body).hexdigest()


def hubspot(secret: str, method: str, url: str, body: bytes, version: str = "v2") -> dict:
    """What HubSpot adds: v3 and, for backward compatibility, the older signature too (v1 for
    CRM object subscriptions, v2 for workflow webhooks)."""
    older = hubspot_v1(secret, body) if version == "v1" else hubspot_v2(secret, method, url, body)
    return {
        **hubspot_v3(secret, method, url, body),
        "X-HubSpot-Signature": older,
        "X-HubSpot-Signature-Version": version,
    }


def with_handshake_key(secret: str, body: bytes) -> bytes:
    """Wufoo's body: its form fields, with the Handshake Key as the HandshakeKey field."""
    field_ = urlencode({"HandshakeKey": secret}, quote_via=quote)
    return body + (b"&" if body else b"") + field_.encode()


BODY_SIGNERS = {"typeform": typeform, "tally": tally, "github": github, "formstack": formstack}


def sign(scheme: str, secret: str, body: bytes, msg_id: str) -> dict:
    """The headers a sender using a body-signing `scheme` adds; msg_id is Standard Webhooks'."""
    if scheme == "standard-webhooks":
        return standard_webhooks(secret, msg_id, body)
    return BODY_SIGNERS[scheme](secret, body)


def sign_request(
    scheme: str, secret: str, method: str, url: str, body: bytes, msg_id: str, *, bearer: bool
) -> Signed:
    """What a sender proving itself with `scheme` adds to a request for `url` (the full URL,
    query included: HubSpot signs it). `bearer`: the token goes in a header, not the URL."""
    if scheme == "hubspot":
        return Signed(headers=hubspot(secret, method, url, body))
    if scheme == "webflow":
        return Signed(headers=webflow(secret, body))
    if scheme == "token":
        if bearer:
            return Signed(headers={"Authorization": f"Bearer {secret}"})
        return Signed(query={"token": secret})
    if scheme == "wufoo":
        return Signed(body=with_handshake_key(secret, body))
    return Signed(headers=sign(scheme, secret, body, msg_id))
