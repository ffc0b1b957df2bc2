"""Webhook signature checks: which scheme a route uses, which secrets may prove it, and the check.

A route's scheme is fixed by configuration (SIGNATURE_ROUTES, else SIGNATURE_SCHEME, whose
`auto` gives a route named after a form tool that tool's scheme: schemes.py), never by
the request. What is signed is always the body exactly as it was sent (base64-decoded when API
Gateway encoded it). Comparisons are constant-time. Several secrets may be valid at once (during a
rotation), and a Standard Webhooks header may carry several signatures.

A secret serves one scheme only. Some schemes sign the body alone, with no timestamp, and the
token schemes send the secret itself: were a key shared between schemes, a Standard Webhooks
signature (which covers "id.timestamp.body") could be replayed as a body-only signature at any
time, and a token read from a URL would be an HMAC key.

The schemes themselves: timestamped (Standard Webhooks, HubSpot v3, Webflow), body_only
(Typeform, Tally, GitHub, Formstack), shared_secrets (token, Wufoo).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from checks.check_failures import SignatureRejected, SignaturesUncheckable
from checks.signatures import body_only as body_signatures
from checks.signatures import shared_secrets
from checks.signatures import timestamped as timestamped_signatures
from checks.signatures.schemes import preset_for
from checks.signatures.signed_requests import SignedRequest
from settings.signature_scheme_names import (
    AUTO,
    FORMSTACK,
    GITHUB,
    HUBSPOT,
    STANDARD,
    TALLY,
    TOKEN,
    TYPEFORM,
    WEBFLOW,
    WUFOO,
)

__all__ = [
    "AUTO",
    "FORMSTACK",
    "GITHUB",
    "HUBSPOT",
    "STANDARD",
    "TALLY",
    "TOKEN",
    "TYPEFORM",
    "WEBFLOW",
    "WUFOO",
    "RouteSchemes",
    "SignedRequest",
    "WebhookSecrets",
    "check",
    "route_secrets",
    "scheme_for",
    "verify",
]


def scheme_for(configured: str, provider: str | None) -> str:
    if configured != AUTO:
        return configured
    return preset_for(_label(provider)) or STANDARD


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
    request: SignedRequest,
    *,
    now: Callable[[], float] = time.time,
) -> str | None:
    """Returns the scheme that let the request in (None: unsigned requests allowed); raises
    SignatureRejected, or SignaturesUncheckable when no secret exists."""
    if not secrets:
        if schemes.allow_unsigned:
            return None
        raise SignaturesUncheckable(
            "webhook signatures cannot be checked yet; retry later",
            diagnosis="signature checks are on and no webhook secret is configured",
            misconfigured=True,
        )
    scheme = schemes.scheme(provider)
    verify(scheme, route_secrets(schemes, secrets, provider, scheme), request, now=now)
    return scheme


def route_secrets(
    schemes: RouteSchemes, secrets: WebhookSecrets, provider: str | None, scheme: str
) -> tuple[str, ...]:
    """The secrets that may sign for this route: its provider's own, else the shared ones when
    the route uses the shared secret's scheme. A secret that another scheme uses too is refused."""
    label = _label(provider)
    own = secrets.by_provider.get(label, ())
    candidates = own or (secrets.shared if scheme == schemes.shared_scheme else ())
    if not candidates:
        raise _misconfigured(
            "no webhook secret for this route's signature scheme: give the provider its own",
            label,
            scheme,
        )
    elsewhere = set(secrets.shared) if scheme != schemes.shared_scheme else set()
    for other, values in secrets.by_provider.items():
        if schemes.scheme(other) != scheme:
            elsewhere.update(values)
    if elsewhere.intersection(candidates):
        raise _misconfigured(
            "a webhook secret serves two signature schemes: give each provider its own",
            label,
            scheme,
        )
    return candidates


def _misconfigured(diagnosis: str, provider: str, scheme: str) -> SignatureRejected:
    """The sender hears only that nothing can verify it; the log says what to fix."""
    return SignatureRejected(
        "no signature can be verified on this route",
        diagnosis=diagnosis,
        details={"provider": provider, "scheme": scheme},
        misconfigured=True,
    )


def _label(provider: str | None) -> str:
    return (provider or "").strip().lower()


def verify(
    scheme: str,
    secrets: tuple[str, ...],
    request: SignedRequest,
    *,
    now: Callable[[], float] = time.time,
) -> None:
    """Returns if any secret proves the request; raises SignatureRejected otherwise."""
    if scheme in body_signatures.PRESETS:
        body_signatures.verify(scheme, secrets, request)
    elif scheme == TOKEN:
        shared_secrets.token(secrets, request)
    elif scheme == WUFOO:
        shared_secrets.wufoo(secrets, request)
    else:
        _TIMESTAMPED[scheme](secrets, request, now())


_TIMESTAMPED = {
    STANDARD: timestamped_signatures.standard_webhooks,
    HUBSPOT: timestamped_signatures.hubspot,
    WEBFLOW: timestamped_signatures.webflow,
}
