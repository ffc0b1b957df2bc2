"""Webhook requests as the form tools send them, and the verifier's verdict on them at a fixed
moment, for the form tools' signature tests."""

from __future__ import annotations

import pytest

from checks.check_failures import CheckFailed
from checks.signatures import routes as signatures
from intake.answers import STATUS_AND_CODE

NOW_MS = 1_795_860_000_000


NOW = NOW_MS / 1000


URL = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/webhooks/hubspot"


BODY = b'[{"eventId":1,"subscriptionType":"contact.creation","objectId":123}]'


SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"


def request(headers=None, body=BODY, *, query=(), uri=URL, content_type=None, method="POST"):
    return signatures.SignedRequest(
        {k.lower(): v for k, v in (headers or {}).items()},
        body,
        method=method,
        query=tuple(query),
        uri=lambda: uri,
        content_type=content_type,
    )


def verify(scheme, req, secrets=(SECRET,), now=NOW):
    signatures.verify(scheme, tuple(secrets), req, now=lambda: now)


def refused(scheme, req, secrets=(SECRET,), now=NOW) -> str:
    with pytest.raises(CheckFailed) as caught:
        verify(scheme, req, secrets, now)
    assert STATUS_AND_CODE[caught.value.reason] == (401, "unauthorized")
    assert all(secret not in caught.value.message for secret in secrets)
    return caught.value.message
