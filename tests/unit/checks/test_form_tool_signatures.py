"""The form tools' schemes (HubSpot v3, Webflow, Formstack, token, Wufoo) against the publishers'
worked examples and our own signer (local/stand_ins/webhook_signing.py, written from the
publishers' pages independently of the verifier), with every refusal the issue lists: body changed,
timestamp too old or too new, headers missing or duplicated, the wrong encoding, seconds for
milliseconds."""

from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.refusals import Refusal
from checks.signatures import routes as signatures
from checks.signatures.request_urls import hubspot_decoded
from checks.signatures.shared_secrets import without_secret_fields
from local.stand_ins import webhook_signing as signing

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
    with pytest.raises(Refusal) as caught:
        verify(scheme, req, secrets, now)
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert all(secret not in caught.value.message for secret in secrets)
    return caught.value.message


# --- HubSpot ------------------------------------------------------------------------------------
def test_hubspots_published_v1_and_v2_examples_pin_our_signer():
    """developers.hubspot.com, "Validating requests": the v1 and v2 worked examples."""
    v1_body = (
        b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
        b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
        b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
    )
    assert signing.hubspot_v1(SECRET, v1_body) == (
        "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    )
    example = "https://www.example.com/webhook_uri"
    assert signing.hubspot_v2(SECRET, "GET", example, b"") == (
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    )
    assert signing.hubspot_v2(SECRET, "POST", example, b'{"example_field":"example_value"}') == (
        "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"
    )


def test_hubspot_v3_is_accepted():
    verify("hubspot", request(signing.hubspot(SECRET, "POST", URL, BODY, "v1")), now=time.time())
    verify("hubspot", request(signing.hubspot_v3(SECRET, "POST", URL, BODY, NOW_MS)))


def test_hubspot_v1_or_v2_alone_is_refused_for_they_cannot_expire():
    older = {"X-HubSpot-Signature": signing.hubspot_v2(SECRET, "POST", URL, BODY)}
    older["X-HubSpot-Signature-Version"] = "v2"
    assert "v1 and v2 signatures are not accepted" in refused("hubspot", request(older))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": BODY + b" "}, "does not match"),
        ({"uri": URL + "?x=1"}, "does not match"),
        ({"method": "PUT"}, "does not match"),
        ({"now": NOW + 301}, "tolerance"),
        ({"now": NOW - 301}, "tolerance"),  # sent 5 minutes ahead of our clock
        ({"drop": "X-HubSpot-Request-Timestamp"}, "required"),
        ({"drop": "X-HubSpot-Signature-v3"}, "required"),
        ({"seconds": True}, "must be a Unix time in milliseconds"),
        ({"hex": True}, "does not match"),
        ({"duplicate": "X-HubSpot-Signature-v3"}, "does not match"),
        ({"duplicate": "X-HubSpot-Request-Timestamp"}, "not a Unix time"),
        ({"set": ("X-HubSpot-Request-Timestamp", "1e12")}, "not a Unix time"),
        ({"set": ("X-HubSpot-Request-Timestamp", "٣" * 13)}, "not a Unix time"),
    ],
)
def test_hubspot_refusals(change, message):
    headers = signing.hubspot_v3(SECRET, "POST", URL, BODY, NOW_MS)
    if change.get("seconds"):
        headers = signing.hubspot_v3(SECRET, "POST", URL, BODY, NOW_MS // 1000)
    if change.get("hex"):
        signature = base64.b64decode(headers["X-HubSpot-Signature-v3"])
        headers["X-HubSpot-Signature-v3"] = signature.hex()
    if "drop" in change:
        del headers[change["drop"]]
    if "duplicate" in change:  # API Gateway joins a repeated header's values with commas
        name = change["duplicate"]
        headers[name] = f"{headers[name]},{headers[name]}"
    if "set" in change:
        headers[change["set"][0]] = change["set"][1]
    req = request(
        headers,
        change.get("body", BODY),
        uri=change.get("uri", URL),
        method=change.get("method", "POST"),
    )
    assert message in refused("hubspot", req, now=change.get("now", NOW))


def test_hubspot_signs_the_uri_with_its_listed_escapes_decoded():
    """A URL HubSpot posts to with `:` and `@` in its query: HubSpot signs the decoded form; the
    request arrives encoded."""
    sent = URL + "?from=hub%3Aspot&who=a%40b.example&space=a%20b"
    headers = signing.hubspot_v3(
        SECRET, "POST", URL + "?from=hub:spot&who=a@b.example&space=a%20b", BODY, NOW_MS
    )
    verify("hubspot", request(headers, uri=hubspot_decoded(sent)))


# --- Webflow ------------------------------------------------------------------------------------
def test_webflow():
    headers = signing.webflow("client-secret", BODY, NOW_MS)
    verify("webflow", request(headers), ("client-secret",))
    verify("webflow", request(headers), ("old-secret", "client-secret"))  # during a rotation
    assert "does not match" in refused("webflow", request(headers, BODY + b"!"), ("client-secret",))
    assert "does not match" in refused("webflow", request(headers), ("other",))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"now": NOW + 301}, "tolerance"),
        ({"now": NOW - 301}, "tolerance"),
        ({"drop": "x-webflow-timestamp"}, "required"),
        ({"drop": "x-webflow-signature"}, "required"),
        ({"seconds": True}, "must be a Unix time in milliseconds"),
        ({"base64": True}, "does not match"),
        ({"duplicate": "x-webflow-signature"}, "does not match"),
        ({"duplicate": "x-webflow-timestamp"}, "not a Unix time"),
        ({"set": ("x-webflow-timestamp", "-1795860000000")}, "not a Unix time"),
    ],
)
def test_webflow_refusals(change, message):
    stamp = NOW_MS // 1000 if change.get("seconds") else NOW_MS
    headers = signing.webflow("client-secret", BODY, stamp)
    if change.get("base64"):
        raw = bytes.fromhex(headers["x-webflow-signature"])
        headers["x-webflow-signature"] = base64.b64encode(raw).decode()
    if "drop" in change:
        del headers[change["drop"]]
    if "duplicate" in change:
        name = change["duplicate"]
        headers[name] = f"{headers[name]},{headers[name]}"
    if "set" in change:
        headers[change["set"][0]] = change["set"][1]
    assert message in refused(
        "webflow", request(headers), ("client-secret",), change.get("now", NOW)
    )


# --- Formstack ----------------------------------------------------------------------------------
def test_a_captured_formstack_delivery():
    """A real delivery (HMAC Key `test1`) as captured in hookdeck/webhook-skills'
    formstack-webhooks/references/verification.md: the digest is lower-case hex."""
    body = b"FormID=6606394&UniqueID=1500878955&HandshakeKey=test"
    signature = "sha256=30dff7f180b6d69eab397a5d51719474df490b730514c253e8b5832d3b51b970"
    assert signing.formstack("test1", body) == {"X-FS-Signature": signature}
    verify("formstack", request({"X-FS-Signature": signature}, body), ("test1",))
    as_base64 = "sha256=MN/38YC21p6rOXpdUXGUdN9JC3MFFMJT6LWDLTtRuXA="
    assert "does not match" in refused(
        "formstack", request({"X-FS-Signature": as_base64}, body), ("test1",)
    )
    assert "malformed" in refused(
        "formstack", request({"X-FS-Signature": signature[7:]}, body), ("test1",)
    )
    twice = {"X-FS-Signature": f"{signature},{signature}"}
    assert "does not match" in refused("formstack", request(twice, body), ("test1",))


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
    with pytest.raises(Refusal):
        signatures.route_secrets(signatures.RouteSchemes(), shared, "jotform", "token")
    mixed = signatures.WebhookSecrets(shared=("hmac-key",), by_provider={"jotform": ("hmac-key",)})
    with pytest.raises(Refusal):
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
    except Refusal as refusal:
        outcome = refusal
    if outcome is not None:
        assert outcome.status == 401
        assert SECRET not in outcome.message
