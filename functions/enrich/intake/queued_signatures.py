"""Queued mode's trust boundary: only the function's own HTTP edge can put a checked webhook on
the intake queue.

Other producers may send to the intake queue too (IAM grants SendMessage, not a message format),
so a body that says `schema: queued-webhook/v1` proves nothing. The edge signs each queued message:
an HMAC-SHA256 over the exact message body, with a key that only the function can read, carried
in the `intake_signature` message attribute. The SQS intake gives a record the standing of a
checked webhook (its `source`, `event_id` and scope) only when that signature verifies:

- signed with a current key: the checked webhook, exactly as the edge accepted it;
- no signature (or not in this format): an ordinary submission (kind `sqs`, scoped to its
  queue), which can claim no other sender's delivery id or scope;
- a signature no current key verifies: handed back (it may have been signed with a key this
  container has not loaded yet, during a rotation); after the queue's maxReceiveCount it rests in
  the intake DLQ, never forwarded as the webhook it claims to be.

Keys: INTAKE_SIGNING_KEY locally; deployed, the secret INTAKE_SIGNING_SECRET_ARN names (the
template generates it; only the function's role may read it), re-read every minute. One key, or
several separated by spaces during a rotation: the first signs, every one verifies. The MAC key is
derived from each with a fixed label, so the same material used anywhere else gives another key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from enum import Enum

from platform_services import aws_calls, log_redaction
from platform_services.deadlines import Deadline
from platform_services.secret_reader import SecretReader, SecretUnavailable
from settings import Settings

SIGNATURE_ATTRIBUTE = "intake_signature"
_VERSION = "v1="
_KEY_LABEL = b"webhook-enrichment/intake-signing/v1"
# A rotated key reaches every container within this many seconds; a record signed with a key
# that a container has not loaded yet is handed back and comes back after the queue's
# visibility timeout (120 s in the template), by when it has.
KEY_MAX_AGE_SECONDS = 60


class Verdict(Enum):
    SIGNED = "signed"  # by the function's edge, with a current key
    UNSIGNED = "unsigned"  # no intake signature: an ordinary submission
    UNVERIFIED = "unverified"  # a signature no current key verifies


class IntakeSigning:
    def __init__(self, settings: Settings, secrets: SecretReader) -> None:
        self._arn = settings.intake_signing_secret_arn
        self._local = _derived_keys(settings.intake_signing_key or "")
        self._secrets = secrets

    def sign(self, body: str, deadline: Deadline | None = None) -> str:
        """The attribute value for a message body; raises SecretUnavailable."""
        return _signature(self._keys(deadline)[0], body)

    def verify(self, body: str, signature: str | None, deadline: Deadline | None = None) -> Verdict:
        """Raises SecretUnavailable when the keys cannot be read (the record must wait)."""
        if not signature or not signature.startswith(_VERSION):
            return Verdict.UNSIGNED
        # Every key is tried, so that the time taken tells nothing about which one matched.
        keys = self._keys(deadline)
        matched = [hmac.compare_digest(_signature(key, body), signature) for key in keys]
        return Verdict.SIGNED if any(matched) else Verdict.UNVERIFIED

    def _keys(self, deadline: Deadline | None) -> tuple[bytes, ...]:
        if not self._arn:
            return self._local
        with aws_calls.within(deadline):
            value = self._secrets.read(
                self._arn,
                variable="INTAKE_SIGNING_SECRET_ARN",
                transform=None,
                max_age=KEY_MAX_AGE_SECONDS,
            )
        keys = _derived_keys(value if isinstance(value, str) else "")
        if not keys:
            raise SecretUnavailable("INTAKE_SIGNING_SECRET_ARN holds no key")
        return keys


@functools.lru_cache(maxsize=8)  # read per record: derive each secret's keys once
def _derived_keys(material: str) -> tuple[bytes, ...]:
    log_redaction.remember_secrets(material.split())
    return tuple(
        hmac.new(key.encode(), _KEY_LABEL, hashlib.sha256).digest() for key in material.split()
    )


def _signature(key: bytes, body: str) -> str:
    # surrogatepass: a forged body may hold anything; verifying it must not raise
    mac = hmac.new(key, body.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return _VERSION + base64.b64encode(mac).decode()
