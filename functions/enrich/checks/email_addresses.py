"""Normalising, masking and hashing email addresses."""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email

# Longer strings cannot be addresses (RFC 5321 allows 254) and are not worth parsing.
MAX_CANDIDATE_LENGTH = 512


def normalise_email(candidate: object) -> str | None:
    """The address in `candidate` (trimmed, display name dropped, domain lower-cased) or None."""
    if not isinstance(candidate, str) or "@" not in candidate:
        return None
    text = candidate.strip()
    if not text or len(text) > MAX_CANDIDATE_LENGTH:
        return None
    try:
        valid = validate_email(text, check_deliverability=False, allow_display_name=True)
    except EmailNotValidError:
        return None
    return valid.normalized


def mask_email(email: str | None) -> str | None:
    """For logs: keeps the first character and the domain, `c*******@example.com`."""
    if not email:
        return email
    local, _, domain = email.rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}{'*' * max(3, len(local) - 1)}@{domain}"


def email_hash(email: str) -> str:
    """A stable, non-reversible key for an address (FIFO group ids, cache keys in logs)."""
    return hashlib.sha256(email.lower().encode()).hexdigest()
