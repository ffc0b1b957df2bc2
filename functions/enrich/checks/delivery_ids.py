"""The stable id of a delivery: the sender's own where it gives one, else a hash of the body.

A sender's id is only unique among that sender's deliveries: `submission_id` 1001 from one form
and 1001 from another are two submissions. What makes two deliveries one is their DeliveryKey:
the same sender (scope), the same id and the same content.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Checked in order. Standard Webhooks, the common idempotency headers, then providers' own.
ID_HEADERS = (
    "webhook-id",
    "idempotency-key",
    "x-idempotency-key",
    "x-webhook-id",
    "x-delivery-id",
    "x-github-delivery",
    "x-event-id",
)
# Top-level payload fields that name one delivery: Typeform, Tally, Jotform and generic names.
# Not `id`: in many form payloads it is the form's id, the same for every submission.
ID_FIELDS = (
    "event_id",
    "eventId",
    "webhook_id",
    "webhookId",
    "delivery_id",
    "deliveryId",
    "submission_id",
    "submissionId",
    "submissionID",
)
# What SQS accepts as a FIFO MessageDeduplicationId; anything else is hashed into that shape.
_SAFE_ID = re.compile(r"[!-~]{1,128}")


def sender_id(headers: Mapping[str, str] | None, payload: Any) -> str | None:
    for name in ID_HEADERS:
        value = (headers or {}).get(name)
        if value and str(value).strip():
            return safe_id(str(value).strip())
    if isinstance(payload, dict):
        for name in ID_FIELDS:
            value = payload.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return safe_id(str(value).strip())
    return None


def content_id(*parts: Any) -> str:
    """The same content always gives the same id, however its JSON was spaced or ordered."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def safe_id(value: str) -> str:
    if _SAFE_ID.fullmatch(value):
        return value
    # surrogatepass: a header may hold any code point; the hash must not fail on one
    return "sha256-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]


# The source field that tells one sender from another, per source kind, in order of preference.
_SCOPE_FIELDS = {
    "http": ("provider", "route"),  # the route's provider label: /webhooks/<provider>
    "sqs": ("queue",),
    "eventbridge": ("event_source",),
}


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """Two deliveries are one when their keys are equal. The same scope and event_id with
    another fingerprint is an id reused for other content: a conflict, never a duplicate."""

    scope: str  # whose id space event_id belongs to: "http:<provider>", "sqs:<queue>", ...
    event_id: str
    fingerprint: str  # the content: a hash of the parsed payload

    @property
    def digest(self) -> str:
        """One string for the whole key, in the shape SQS takes as a MessageDeduplicationId."""
        return content_id(self.scope, self.event_id, self.fingerprint)


def delivery_key(event_id: str, source: Mapping[str, Any], payload: Any) -> DeliveryKey:
    return DeliveryKey(sender_scope(source), event_id, content_id(payload))


def sender_scope(source: Mapping[str, Any]) -> str:
    kind = str(source.get("kind"))
    for name in _SCOPE_FIELDS.get(kind, ()):
        if source.get(name):
            return f"{kind}:{source[name]}"
    return kind
