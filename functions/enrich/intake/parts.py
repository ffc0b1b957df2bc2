"""What each intake takes: built once per container by runtime.py, each handed only to its own
intake by app.py. Declared here rather than beside each intake, so that building them imports no
intake before its first event (a cold start is billed). Each holds the settings' values its intake
reads, not the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: queued mode's parts are imported only in queued mode
    from checks.email_extraction import EmailFinder
    from forwarding.parts import ForwardingParts
    from forwarding.recovery_wakeups import RecoveryWakeups
    from intake.queued_mode import QueuedMode
    from intake.queued_signatures import IntakeSigning
    from platform_services.api_keys import ApiKeyStore


@dataclass(frozen=True, slots=True)
class RetriedInvokeParts:
    """EventBridge events and direct invokes (eventbridge.py, direct.py)."""

    email_finder: EmailFinder
    require_email: bool  # REQUIRE_EMAIL
    forwarding: ForwardingParts


@dataclass(frozen=True, slots=True)
class SqsIntakeParts:
    """SQS batches (sqs.py)."""

    email_finder: EmailFinder
    require_email: bool  # REQUIRE_EMAIL
    forwarding: ForwardingParts
    sqs: Any = None  # the SQS client: records handed back to wait
    # Tells the webhooks the HTTP edge queued apart from other producers' (INTAKE_SIGNING_*).
    intake_signing: IntakeSigning | None = None
    # With IDEMPOTENCY_TABLE: records handed back to wait out an outage are written down here.
    wakeups: RecoveryWakeups | None = None


@dataclass(frozen=True, slots=True)
class HttpIntakeParts:
    """API Gateway and Function URL webhooks (http.py)."""

    email_finder: EmailFinder
    require_email: bool  # REQUIRE_EMAIL
    forwarding: ForwardingParts
    keys: ApiKeyStore  # the webhook secrets
    max_body_bytes: int  # MAX_BODY_BYTES
    webhook_base_url: str | None  # WEBHOOK_BASE_URL: the URL HubSpot signs, when a domain hides it
    # Which scheme proves each route (SIGNATURE_SCHEME, SIGNATURE_ROUTES), and whether a request
    # may go unsigned when no webhook secret is set (ALLOW_UNSIGNED_WEBHOOKS, or a local run).
    signature_scheme: str
    signature_routes: tuple[tuple[str, str], ...]
    unsigned_allowed: bool
    queued: QueuedMode | None = None  # queued mode (INTAKE_QUEUE_URL): the intake queue's parts
