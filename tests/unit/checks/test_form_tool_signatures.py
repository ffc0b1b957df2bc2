"""The signing form tools' schemes (HubSpot v3, Webflow, Formstack) against the publishers'
worked examples and our own signer (local/stand_ins/webhook_signing.py, written from the
publishers' pages independently of the verifier), with every refusal the issue lists: body
changed, timestamp too old or too new, headers missing or duplicated, the wrong encoding,
seconds for milliseconds. Token schemes and routes: test_form_tool_tokens.py."""

from __future__ import annotations

import base64
import time

import pytest

from checks.signatures.request_urls import hubspot_decoded
from local.stand_ins import webhook_signing as signing
from tests.unit.checks.form_tool_requests import (
    BODY,
    NOW,
    NOW_MS,
    SECRET,
    URL,
    refused,
    request,
    verify,
)


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
