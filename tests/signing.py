"""The senders' signatures, for the tests: see local/stand_ins/webhook_signing.py. And the
intake queue's own signature (README, Security), written from its description rather than taken from
the function, so that a change to either shows."""

import base64
import hashlib
import hmac

from local.stand_ins.webhook_signing import github, sign, standard_webhooks, tally, typeform

__all__ = ["github", "intake_signature", "sign", "standard_webhooks", "tally", "typeform"]


def intake_signature(key: str, body: str) -> str:
    """v1=<base64 HMAC-SHA256(HMAC-SHA256(key, label), body)>: what the edge puts in the
    `intake_signature` attribute of a queued webhook."""
    derived = hmac.new(key.encode(), b"webhook-enrichment/intake-signing/v1", hashlib.sha256)
    mac = hmac.new(derived.digest(), body.encode(), hashlib.sha256).digest()
    return "v1=" + base64.b64encode(mac).decode()
