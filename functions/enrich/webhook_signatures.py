"""Webhook signature checks: Standard Webhooks by default, Typeform, Tally and GitHub presets.

What is signed is always the body exactly as it was sent (base64-decoded when API Gateway encoded
it). Comparisons are constant-time. Several secrets may be valid at once (during a rotation), and
a Standard Webhooks header may carry several signatures.

A route's scheme is fixed by configuration, and a secret serves one scheme only. The presets sign
the body alone, with no timestamp: were their key shared with another scheme, a signature captured
under one scheme (a Standard Webhooks signature covers "id.timestamp.body") could be replayed as a
preset signature, at any time, on a route that uses the preset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from observability import logger
from refusals import Refusal

STANDARD = "standard-webhooks"
TYPEFORM = "typeform"
TALLY = "tally"
GITHUB = "github"
# SIGNATURE_SCHEME=auto picks a preset when the route's provider label names one.
AUTO = "auto"
TOLERANCE_SECONDS = 5 * 60
# Presets sign the body alone: no timestamp, no id.
PRESETS = (TYPEFORM, TALLY, GITHUB)


def scheme_for(configured: str, provider: str | None) -> str:
    if configured != AUTO:
        return configured
    label = (provider or "").lower()
    return label if label in PRESETS else STANDARD


@dataclass(frozen=True, slots=True)
class RouteSchemes:
    """Which scheme each route uses: SIGNATURE_ROUTES first, then SIGNATURE_SCHEME."""

    default: str = AUTO
    routes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    allow_unsigned: bool = False

    def scheme(self, provider: str | None) -> str:
        return self.routes.get(_label(provider)) or scheme_for(self.default, provider)

    @property
    def shared_scheme(self) -> str:
        """The one scheme the shared secret (`webhook_secret`) serves."""
        return STANDARD if self.default == AUTO else self.default


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    shared: tuple[str, ...] = field(default=(), repr=False)
    by_provider: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )

    def __bool__(self) -> bool:
        return bool(self.shared) or any(self.by_provider.values())


def check(
    schemes: RouteSchemes,
    secrets: WebhookSecrets,
    provider: str | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], float] = time.time,
) -> None:
    """Returns if the request may go in; raises a Refusal (401, or 503 when no secret exists)."""
    if not secrets:
        if schemes.allow_unsigned:
            return
        logger.error("signature checks are on and no webhook secret is configured")
        raise Refusal(503, "unavailable", "webhook signatures cannot be checked yet; retry later")
    scheme = schemes.scheme(provider)
    verify(scheme, route_secrets(schemes, secrets, provider, scheme), headers, body, now=now)


def route_secrets(
    schemes: RouteSchemes, secrets: WebhookSecrets, provider: str | None, scheme: str
) -> tuple[str, ...]:
    """The secrets that may sign for this route: its provider's own, else the shared ones when
    the route uses the shared secret's scheme. A secret that another scheme uses too is refused."""
    label = _label(provider)
    own = secrets.by_provider.get(label, ())
    candidates = own or (secrets.shared if scheme == schemes.shared_scheme else ())
    if not candidates:
        logger.error(
            "no webhook secret for this route's signature scheme: give the provider its own",
            extra={"provider": label, "scheme": scheme},
        )
        raise _unauthorized("no signature can be verified on this route")
    elsewhere = set(secrets.shared) if scheme != schemes.shared_scheme else set()
    for other, values in secrets.by_provider.items():
        if schemes.scheme(other) != scheme:
            elsewhere.update(values)
    if elsewhere.intersection(candidates):
        logger.error(
            "a webhook secret serves two signature schemes: give each provider its own",
            extra={"provider": label, "scheme": scheme},
        )
        raise _unauthorized("no signature can be verified on this route")
    return candidates


def _label(provider: str | None) -> str:
    return (provider or "").strip().lower()


def verify(
    scheme: str,
    secrets: tuple[str, ...],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], float] = time.time,
) -> None:
    """Returns if any secret signs the request; raises a 401 Refusal otherwise."""
    if scheme == STANDARD:
        _standard_webhooks(secrets, headers, body, now())
        return
    header, prefix, encode = _PRESETS[scheme]
    _prefixed(headers.get(header), prefix, secrets, body, encode)


def _standard_webhooks(
    secrets: tuple[str, ...], headers: Mapping[str, str], body: bytes, now: float
) -> None:
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise _unauthorized("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise _unauthorized("webhook-timestamp is not a Unix time") from None
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise _unauthorized("webhook-timestamp is outside the 5-minute tolerance")
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    offered = [sig[3:] for sig in signatures.split() if sig.startswith("v1,")]
    expected = [_b64_of(_hmac(_standard_key(secret), signed)) for secret in secrets]
    if not _any_equal(offered, expected):
        raise _unauthorized("the signature does not match")


def _prefixed(
    header: str | None,
    prefix: str,
    secrets: tuple[str, ...],
    body: bytes,
    encode: Callable[[bytes], str],
) -> None:
    if not header:
        raise _unauthorized("the signature header is missing")
    if not header.startswith(prefix):
        raise _unauthorized("the signature header is malformed")
    offered = [header[len(prefix) :].strip()]
    expected = [encode(_hmac(secret.encode(), body)) for secret in secrets]
    if not _any_equal(offered, expected):
        raise _unauthorized("the signature does not match")


def _standard_key(secret: str) -> bytes:
    """`whsec_<base64>` as the Standard Webhooks spec issues them; any other secret as its bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _b64_of(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _hex_of(digest: bytes) -> str:
    return digest.hex()


# Presets: the header, what precedes the signature in it, and how the HMAC-SHA256 is written.
_PRESETS: dict[str, tuple[str, str, Callable[[bytes], str]]] = {
    TYPEFORM: ("typeform-signature", "sha256=", _b64_of),
    TALLY: ("tally-signature", "", _b64_of),
    GITHUB: ("x-hub-signature-256", "sha256=", _hex_of),
}


def _any_equal(offered: list[str], expected: list[str]) -> bool:
    # Every pair is compared, in constant time, so timing tells nothing about which came close.
    matched = False
    for candidate in offered:
        for signature in expected:
            matched |= hmac.compare_digest(candidate.encode(), signature.encode())
    return matched


def _unauthorized(message: str) -> Refusal:
    return Refusal(401, "unauthorized", message)
