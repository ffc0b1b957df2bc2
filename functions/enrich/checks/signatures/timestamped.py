"""Schemes that sign a timestamp with the body, so that a captured request expires.

- Standard Webhooks (standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256 of
  "id.timestamp.body">`, `webhook-timestamp` in seconds; several signatures per header.
- Webflow ("Verifying webhook signatures", developers.webflow.com): `x-webflow-signature` is the
  hex HMAC-SHA256 of `timestamp + ":" + body`, `x-webflow-timestamp` in milliseconds, keyed by the
  OAuth application's client secret (webhooks made from a site's dashboard are not signed).
- HubSpot v3 ("Validating requests", developers.hubspot.com): `X-HubSpot-Signature-v3` is the
  base64 HMAC-SHA256 of the UTF-8 string `method + URI + body + timestamp`, keyed by the app's
  client secret, `X-HubSpot-Request-Timestamp` in milliseconds; older than 5 minutes is refused.
  HubSpot's v1 and v2 (`X-HubSpot-Signature`) sign no timestamp and, per the same page, ride
  along with v3 "for backwards compatibility": they are not accepted (a replay never expires).

All refuse a timestamp more than TOLERANCE_SECONDS away from now, in the past or the future.
"""

from __future__ import annotations

import base64
import binascii

from checks.check_failures import SignatureRejected
from checks.signatures.schemes import TOLERANCE_SECONDS
from checks.signatures.signed_requests import (
    OWS,
    SignedRequest,
    any_equal,
    check_age,
    hmac_sha256,
    unauthorized,
    unix_time,
)


def standard_webhooks(secrets: tuple[str, ...], request: SignedRequest, now: float) -> None:
    headers = request.headers
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise unauthorized("webhook-id, webhook-timestamp and webhook-signature are required")
    sent_at = unix_time(timestamp, "webhook-timestamp")
    check_age(sent_at, now, "webhook-timestamp", milliseconds=False, tolerance=TOLERANCE_SECONDS)
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + request.body
    offered = [sig[3:] for sig in signatures.split() if sig.startswith("v1,")]
    expected = [_b64(hmac_sha256(standard_key(secret), signed)) for secret in secrets]
    if not any_equal(offered, expected):
        raise unauthorized("the signature does not match")


def standard_key(secret: str) -> bytes:
    """`whsec_<base64>` as the Standard Webhooks spec issues them; any other secret as its bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def webflow(secrets: tuple[str, ...], request: SignedRequest, now: float) -> None:
    timestamp = request.headers.get("x-webflow-timestamp")
    signature = request.headers.get("x-webflow-signature")
    if not (timestamp and signature):
        raise unauthorized("x-webflow-timestamp and x-webflow-signature are required")
    sent_at = unix_time(timestamp, "x-webflow-timestamp")
    check_age(sent_at, now, "x-webflow-timestamp", milliseconds=True, tolerance=TOLERANCE_SECONDS)
    signed = timestamp.encode() + b":" + request.body
    expected = [hmac_sha256(secret.encode(), signed).hex() for secret in secrets]
    if not any_equal([signature.strip(OWS)], expected):
        raise unauthorized("the signature does not match")


def hubspot(secrets: tuple[str, ...], request: SignedRequest, now: float) -> None:
    headers = request.headers
    signature = headers.get("x-hubspot-signature-v3")
    timestamp = headers.get("x-hubspot-request-timestamp")
    if not (signature and timestamp):
        raise unauthorized(
            "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required"
            " (v1 and v2 signatures are not accepted: they cannot expire)"
        )
    sent_at = unix_time(timestamp, "X-HubSpot-Request-Timestamp")
    check_age(
        sent_at, now, "X-HubSpot-Request-Timestamp", milliseconds=True, tolerance=TOLERANCE_SECONDS
    )
    uri = request.uri() if request.uri else ""
    signed = (
        request.method.upper().encode()
        + uri.encode("utf-8", "surrogatepass")
        + request.body
        + timestamp.encode()
    )
    expected = [_b64(hmac_sha256(secret.encode(), signed)) for secret in secrets]
    if not any_equal([signature.strip(OWS)], expected):
        # The URI is the part most likely to differ (a custom domain's base path, a proxy):
        # say which host was used, never the signature or the query.
        raise SignatureRejected(
            "the signature does not match",
            diagnosis="HubSpot's signature does not match the URL rebuilt from the request;"
            " behind a custom domain or proxy, set WEBHOOK_BASE_URL to the URL HubSpot posts to",
            details={"signed_host": uri.split("/", 3)[2] if uri.count("/") >= 2 else ""},
        )


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()
