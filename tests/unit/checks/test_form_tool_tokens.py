"""The form tools whose proof is a shared token rather than a signature (a URL or header token,
Wufoo's handshake key), each tool's route label picking its scheme under `auto`, and hostile
header values: a clean 401 or accepted, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.check_failures import CheckFailed
from checks.signatures import routes as signatures
from checks.signatures.shared_secrets import without_secret_fields
from intake.answers import Refusal, refusal_for
from local.stand_ins import webhook_signing as signing
from tests.unit.checks.form_tool_requests import (
    NOW,
    SECRET,
    URL,
    refused,
    request,
    verify,
)

# --- token --------------------------------------------------------------------------------------
TOKEN = "q3Zl8V1pX0cN7fB2mK9sT4wY6hJ5dR1e"


@pytest.mark.parametrize(
    "req",
    [
        request(query=[("token", TOKEN)]),
        request(query=[("a", "1"), ("token", TOKEN), ("b", "")]),
        request({"Authorization": f"Bearer {TOKEN}"}),
        request({"Authorization": f"bearer  {TOKEN} "}),
    ],
    ids=["query", "query-among-others", "bearer", "bearer-lower-case"],
)
def test_token_accepted(req):
    verify("token", req, ("retired", TOKEN))


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request(), "a token is required"),
        (request(query=[("token", "guess")]), "does not match"),
        (request(query=[("token", TOKEN[:-1])]), "does not match"),
        (request(query=[("token", "")]), "does not match"),
        (request(query=[("token", TOKEN), ("token", TOKEN)]), "once"),
        (request({"Authorization": f"Bearer {TOKEN}"}, query=[("token", TOKEN)]), "once"),
        (request({"Authorization": f"Bearer {TOKEN},Bearer {TOKEN}"}), "does not match"),
        (request({"Authorization": f"Basic {TOKEN}"}), "Bearer"),
        (request({"Authorization": "Bearer"}), "Bearer"),
        (request({"Authorization": f"Bearer {TOKEN}é"}), "does not match"),
    ],
)
def test_token_refusals(req, message):
    assert message in refused("token", req, (TOKEN,))


# --- Wufoo --------------------------------------------------------------------------------------
FORM = "application/x-www-form-urlencoded"


def test_wufoo_handshake_key_in_a_form_or_json_body():
    body = signing.with_handshake_key("key with spaces&=", b"Field1=Sam&Field3=a%40b.example")
    verify("wufoo", request(body=body, content_type=FORM), ("key with spaces&=",))
    as_json = json.dumps({"Field1": "Sam", "HandshakeKey": "k"}).encode()
    verify("wufoo", request(body=as_json, content_type="application/json"), ("k",))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Field1=Sam", "is required"),
        (b"Field1=Sam&HandshakeKey=wrong", "does not match"),
        (b"HandshakeKey=wufoo-key-1&HandshakeKey=wufoo-key-1", "once"),
        (b"Field1=Sam&handshakekey=wufoo-key-1", "is required"),  # names are case-sensitive
    ],
)
def test_wufoo_refusals(body, message):
    assert message in refused("wufoo", request(body=body, content_type=FORM), ("wufoo-key-1",))


def test_a_handshake_key_is_never_forwarded():
    assert without_secret_fields({"Field1": "Sam", "HandshakeKey": "k"}) == {"Field1": "Sam"}
    assert without_secret_fields(["HandshakeKey"]) == ["HandshakeKey"]


# --- routes: each tool's label picks its scheme under `auto` --------------------------------------
@pytest.mark.parametrize(
    ("label", "scheme"),
    [
        ("HubSpot", "hubspot"),
        ("webflow", "webflow"),
        ("formstack", "formstack"),
        ("wufoo", "wufoo"),
        ("jotform", "token"),
        ("paperform", "token"),
        ("google-forms", "token"),
        ("website", "standard-webhooks"),
    ],
)
def test_a_route_named_after_a_tool_uses_its_scheme(label, scheme):
    assert signatures.RouteSchemes().scheme(label) == scheme
    assert signatures.RouteSchemes(routes={"jotform": "standard-webhooks"}).scheme("jotform") == (
        "standard-webhooks"
    )


def test_a_token_route_never_takes_the_shared_secret():
    """The shared secret is an HMAC key: sent as a token it would be readable in URLs."""
    shared = signatures.WebhookSecrets(shared=("hmac-key",))
    with pytest.raises(CheckFailed):
        signatures.route_secrets(signatures.RouteSchemes(), shared, "jotform", "token")
    mixed = signatures.WebhookSecrets(shared=("hmac-key",), by_provider={"jotform": ("hmac-key",)})
    with pytest.raises(CheckFailed):
        signatures.route_secrets(signatures.RouteSchemes(), mixed, "jotform", "token")


# --- hostile headers never crash a verifier ------------------------------------------------------
hostile = st.one_of(
    st.text(max_size=64),
    st.text(alphabet="0123456789,", max_size=40),
    st.just("9" * 8192),  # an 8 KiB header
    st.just("v1," + "A" * 8189),
    st.builds(lambda s: s * 256, st.text(min_size=1, max_size=32)),
)


SCHEME_HEADERS = {
    "hubspot": ["x-hubspot-signature-v3", "x-hubspot-request-timestamp", "authorization"],
    "webflow": ["x-webflow-signature", "x-webflow-timestamp"],
    "standard-webhooks": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "formstack": ["x-fs-signature"],
    "github": ["x-hub-signature-256"],
    "token": ["authorization"],
    "wufoo": ["content-type"],
}


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(sorted(SCHEME_HEADERS)),
    values=st.lists(hostile, min_size=3, max_size=3),
    body=st.binary(max_size=200),
    query=st.lists(st.tuples(st.sampled_from(["token", "x"]), hostile), max_size=3),
)
def test_any_header_value_is_a_clean_401_or_accepted(scheme, values, body, query):
    headers = dict(zip(SCHEME_HEADERS[scheme], values, strict=False))
    req = signatures.SignedRequest(
        headers, body, query=tuple(query), uri=lambda: URL, content_type=headers.get("content-type")
    )
    outcome: Refusal | None = None
    try:
        signatures.verify(scheme, (SECRET,), req, now=lambda: NOW)
    except CheckFailed as failed:
        outcome = refusal_for(failed)
    if outcome is not None:
        assert outcome.status == 401
        assert SECRET not in outcome.message
