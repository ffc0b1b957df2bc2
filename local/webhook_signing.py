"""Signs requests the way each sender does, written from the senders' documentation: the
demo's and the tests' own implementation, independent of the function's verifier (and checked
against the Standard Webhooks reference implementation in tests/unit/test_webhook_signatures.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


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


SIGNERS = {"typeform": typeform, "tally": tally, "github": github}


def sign(scheme: str, secret: str, body: bytes, msg_id: str) -> dict:
    """The headers a sender using `scheme` adds; msg_id is used by Standard Webhooks only."""
    if scheme == "standard-webhooks":
        return standard_webhooks(secret, msg_id, body)
    return SIGNERS[scheme](secret, body)
