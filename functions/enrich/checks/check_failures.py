"""What a check found wrong with a submission: the checks' own errors, in their own terms.

A check says what is wrong (the body is not the JSON it claims, the signature does not prove the
request, there is no email) and nothing about how to answer: the intakes turn each reason into
their source's answer in one place (intake/answers.py: the HTTP status and code, the refused
record's code in a batch). `message` is safe to send back to the sender; `diagnosis` is for the
operator's log only (which host HubSpot signed, which route lacks a secret), never sent back.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import ClassVar


class Reason(Enum):
    MALFORMED = "malformed"  # not what it claims to be: JSON, form data, a charset, the policy
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # a body of a kind no check reads
    NOT_PROVEN = "not_proven"  # no signature or token proves the request
    UNVERIFIABLE = "unverifiable"  # signature checks are on and there is no secret to check with
    NO_EMAIL = "no_email"  # an email is required and the submission carries none


class CheckFailed(Exception):
    """Raised by a check; made per raise, never kept (a raised instance keeps its tracebacks)."""

    reason: ClassVar[Reason]

    def __init__(
        self,
        message: str,
        *,
        diagnosis: str | None = None,
        details: Mapping[str, str] | None = None,
        misconfigured: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.diagnosis = diagnosis
        self.details = dict(details or {})
        # True: the deployment, not the sender, must change (logged as an error, not a warning).
        self.misconfigured = misconfigured


class BodyRejected(CheckFailed):
    reason = Reason.MALFORMED


class MediaTypeRejected(CheckFailed):
    reason = Reason.UNSUPPORTED_MEDIA_TYPE


class SignatureRejected(CheckFailed):
    reason = Reason.NOT_PROVEN


class SignaturesUncheckable(CheckFailed):
    reason = Reason.UNVERIFIABLE


class EmailMissing(CheckFailed):
    reason = Reason.NO_EMAIL
