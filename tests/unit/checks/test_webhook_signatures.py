"""Signature checks against vectors the tests compute themselves (tests/signing.py), the
example published with the Standard Webhooks specification, and its reference implementation."""

import base64
import string
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.check_failures import CheckFailed
from checks.signatures import routes as signatures
from intake.answers import STATUS_AND_CODE
from tests import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"test": 2432232314}'
NOW = 1614265330


def request(headers, body=BODY):
    return signatures.SignedRequest({k.lower(): v for k, v in headers.items()}, body)


def verify(scheme, secrets, headers, body=BODY, now=NOW):
    signatures.verify(scheme, tuple(secrets), request(headers, body), now=lambda: now)


def refused(*args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as caught:
        verify(*args, **kwargs)
    assert STATUS_AND_CODE[caught.value.reason] == (401, "unauthorized")
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


# --- routes: a scheme per route, a secret per scheme ---------------------------------------------
def route_secrets(secrets, provider, *, default="auto", routes=None):
    schemes = signatures.RouteSchemes(default, routes or {})
    return signatures.route_secrets(schemes, secrets, provider, schemes.scheme(provider))


def test_signature_routes_win_over_the_default_scheme():
    schemes = signatures.RouteSchemes("auto", {"contact-form": "tally", "typeform": "github"})
    assert schemes.scheme("Contact-Form") == signatures.TALLY
    assert schemes.scheme("typeform") == signatures.GITHUB
    assert schemes.scheme("tally") == signatures.TALLY  # auto, by name
    assert schemes.scheme("website") == signatures.STANDARD
    assert signatures.RouteSchemes("github").scheme("website") == signatures.GITHUB


def test_the_shared_secret_serves_the_default_scheme_only():
    shared = signatures.WebhookSecrets(shared=("s",))
    assert route_secrets(shared, "website") == ("s",)
    assert route_secrets(shared, "tally", default="tally") == ("s",)
    for provider in ("typeform", "tally", "github"):
        with pytest.raises(CheckFailed) as caught:
            route_secrets(shared, provider)  # auto: a preset route, no secret of its own
        assert STATUS_AND_CODE[caught.value.reason][0] == 401
    with pytest.raises(CheckFailed):
        route_secrets(shared, "website", routes={"website": "github"})


def test_a_providers_own_secret_is_for_its_route_only():
    secrets = signatures.WebhookSecrets(shared=("s",), by_provider={"tally": ("t1", "t2")})
    assert route_secrets(secrets, "TALLY") == ("t1", "t2")
    assert route_secrets(secrets, "website") == ("s",)
    # Two providers of one scheme may share a secret; two schemes may not.
    same_scheme = signatures.WebhookSecrets(shared=("s",), by_provider={"site-b": ("s",)})
    assert route_secrets(same_scheme, "site-b") == ("s",)


@pytest.mark.parametrize(
    ("secrets", "provider"),
    [
        (signatures.WebhookSecrets(shared=("s",), by_provider={"tally": ("s",)}), "tally"),
        (signatures.WebhookSecrets(shared=("s",), by_provider={"tally": ("s",)}), "website"),
        (signatures.WebhookSecrets(by_provider={"tally": ("x",), "github": ("x",)}), "github"),
        (signatures.WebhookSecrets(by_provider={"tally": ("x", "y"), "typeform": ("y",)}), "tally"),
    ],
)
def test_a_secret_shared_by_two_schemes_is_refused(secrets, provider):
    with pytest.raises(CheckFailed) as caught:
        route_secrets(secrets, provider)
    assert STATUS_AND_CODE[caught.value.reason] == (401, "unauthorized")


def test_no_secret_at_all_fails_closed_unless_unsigned_is_allowed():
    none = signatures.WebhookSecrets()
    with pytest.raises(CheckFailed) as caught:
        signatures.check(signatures.RouteSchemes(), none, "website", request({}))
    assert STATUS_AND_CODE[caught.value.reason] == (503, "unavailable")
    signatures.check(signatures.RouteSchemes(allow_unsigned=True), none, "website", request({}))
    empty_lists = signatures.WebhookSecrets(by_provider={"tally": ()})
    with pytest.raises(CheckFailed):
        signatures.check(signatures.RouteSchemes(), empty_lists, "website", request({}))


def test_allowing_unsigned_never_ignores_a_secret():
    secrets = signatures.WebhookSecrets(by_provider={"tally": ("t",)})
    with pytest.raises(CheckFailed) as caught:
        signatures.check(
            signatures.RouteSchemes(allow_unsigned=True), secrets, "website", request({})
        )
    assert STATUS_AND_CODE[caught.value.reason][0] == 401


# --- the Standard Webhooks reference implementation agrees, both ways ---------------------------
# standardwebhooks (PyPI) is the specification's own library. It reads a str secret as base64
# (with or without whsec_) and takes bytes as the raw key: our plain secrets are raw bytes.
ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=40)
keys = st.binary(min_size=1, max_size=64)
bodies = st.text(max_size=300).map(str.encode)  # the reference decodes the body as UTF-8


def reference_for(our_secret: str) -> standardwebhooks.Webhook:
    if our_secret.startswith("whsec_"):
        return standardwebhooks.Webhook(our_secret)
    return standardwebhooks.Webhook(our_secret.encode())


def secret_from(key: bytes, plain: bool) -> str:
    return base64.b64encode(key).hex() if plain else "whsec_" + base64.b64encode(key).decode()


@settings(max_examples=200, deadline=None)
@given(msg_id=ids, key=keys, plain=st.booleans(), body=bodies, skew=st.integers(-290, 290))
def test_the_reference_verifies_what_we_sign(msg_id, key, plain, body, skew):
    secret = secret_from(key, plain)
    now = int(time.time())
    headers = signing.standard_webhooks(secret, msg_id, body, timestamp=now + skew)
    reference_for(secret).verify(body, headers, json_parse=False)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        reference_for(secret).verify(body + b"x", headers, json_parse=False)


@settings(max_examples=200, deadline=None)
@given(msg_id=ids, key=keys, plain=st.booleans(), body=bodies, skew=st.integers(-290, 290))
def test_we_verify_what_the_reference_signs(msg_id, key, plain, body, skew):
    secret = secret_from(key, plain)
    now = int(time.time())
    sent_at = datetime.fromtimestamp(now + skew, tz=UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now + skew),
        "webhook-signature": reference_for(secret).sign(msg_id, sent_at, body.decode()),
    }
    verify(signatures.STANDARD, [secret], headers, body, now=now)
    assert "does not match" in refused(signatures.STANDARD, [secret], headers, body + b"x", now)
    other = secret_from(key + b"!", plain)
    assert "does not match" in refused(signatures.STANDARD, [other], headers, body, now)


def test_the_reference_and_we_agree_on_the_tolerance():
    now = int(time.time())
    for skew, accepted in ((-290, True), (290, True), (-400, False), (400, False)):
        headers = signing.standard_webhooks(SECRET, "msg_t", BODY, timestamp=now + skew)
        try:
            reference_for(SECRET).verify(BODY, headers, json_parse=False)
            theirs = True
        except standardwebhooks.WebhookVerificationError:
            theirs = False
        try:
            verify(signatures.STANDARD, [SECRET], headers, now=now)
            ours = True
        except CheckFailed:
            ours = False
        assert theirs is ours is accepted, skew
