"""Signature checks against vectors the tests compute themselves (tests/signing.py) and the
example published with the Standard Webhooks specification."""

import pytest

import webhook_signatures as signatures
from refusals import Refusal
from tests import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"test": 2432232314}'
NOW = 1614265330


def verify(scheme, secrets, headers, body=BODY, now=NOW):
    signatures.verify(
        scheme, tuple(secrets), {k.lower(): v for k, v in headers.items()}, body, now=lambda: now
    )


def refused(*args, **kwargs) -> str:
    with pytest.raises(Refusal) as caught:
        verify(*args, **kwargs)
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    return caught.value.message


def test_the_specifications_published_example():
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    verify(signatures.STANDARD, [SECRET], headers)
    assert signing.standard_webhooks(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", BODY, NOW) == headers


def test_standard_webhooks_accepts_any_of_several_signatures_and_secrets():
    headers = signing.standard_webhooks(SECRET, "msg_1", BODY, NOW)
    headers["webhook-signature"] = "v1,bm90IGl0 v2,xyz " + headers["webhook-signature"]
    verify(signatures.STANDARD, [SECRET], headers)
    verify(signatures.STANDARD, ["whsec_b2xkIHNlY3JldA==", SECRET], headers)  # during rotation


def test_standard_webhooks_with_a_plain_secret():
    headers = signing.standard_webhooks("not-base64-secret", "msg_1", BODY, NOW)
    verify(signatures.STANDARD, ["not-base64-secret"], headers)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": BODY + b" "}, "does not match"),
        ({"secret": "whsec_b3RoZXIgc2VjcmV0"}, "does not match"),
        ({"now": NOW + 301}, "tolerance"),
        ({"now": NOW - 301}, "tolerance"),
        ({"drop": "webhook-signature"}, "required"),
        ({"drop": "webhook-id"}, "required"),
        ({"set": ("webhook-timestamp", "yesterday")}, "Unix time"),
        ({"set": ("webhook-id", "msg_2")}, "does not match"),  # the id is signed too
        ({"set": ("webhook-signature", "v2,abc")}, "does not match"),
    ],
)
def test_standard_webhooks_refusals(change, message):
    headers = signing.standard_webhooks(SECRET, "msg_1", BODY, NOW)
    if "drop" in change:
        del headers[change["drop"]]
    if "set" in change:
        name, value = change["set"]
        headers[name] = value
    secrets = [change.get("secret", SECRET)]
    got = refused(
        signatures.STANDARD, secrets, headers, change.get("body", BODY), change.get("now", NOW)
    )
    assert message in got


def test_tolerance_edges_are_accepted():
    headers = signing.standard_webhooks(SECRET, "msg_1", BODY, NOW)
    verify(signatures.STANDARD, [SECRET], headers, now=NOW + 300)
    verify(signatures.STANDARD, [SECRET], headers, now=NOW - 300)


@pytest.mark.parametrize(
    ("scheme", "sign"),
    [
        (signatures.TYPEFORM, signing.typeform),
        (signatures.TALLY, signing.tally),
        (signatures.GITHUB, signing.github),
    ],
)
def test_presets(scheme, sign):
    verify(scheme, ["s3cret"], sign("s3cret", BODY))
    verify(scheme, ["old", "s3cret"], sign("s3cret", BODY))
    assert "does not match" in refused(scheme, ["s3cret"], sign("s3cret", BODY + b"!"))
    assert "does not match" in refused(scheme, ["s3cret"], sign("wrong", BODY))
    assert "missing" in refused(scheme, ["s3cret"], {})


def test_preset_headers_must_have_their_prefix():
    digest = signing.github("s3cret", BODY)["X-Hub-Signature-256"].removeprefix("sha256=")
    assert "malformed" in refused(signatures.GITHUB, ["s3cret"], {"X-Hub-Signature-256": digest})


def test_auto_picks_a_preset_by_route_provider():
    assert signatures.scheme_for("auto", "Typeform") == signatures.TYPEFORM
    assert signatures.scheme_for("auto", "tally") == signatures.TALLY
    assert signatures.scheme_for("auto", "github") == signatures.GITHUB
    assert signatures.scheme_for("auto", "website") == signatures.STANDARD
    assert signatures.scheme_for("auto", None) == signatures.STANDARD
    assert signatures.scheme_for("github", "typeform") == signatures.GITHUB
