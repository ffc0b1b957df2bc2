"""Each form tool's route through the real handler, signed as the tool signs (local/signed_events):
accepted on every public route kind, refused when anything is off, and no secret ever forwarded
or logged. Every test sets the signing configuration it is about, as deployed (no unsigned
requests)."""

from __future__ import annotations

import json
import time

import pytest

from local.stand_ins import signed_events
from local.stand_ins.lambda_events import function_url_event, http_api_event, rest_api_event

SECRETS = {
    "hubspot": "hubspot-client-secret-4f1c",
    "webflow": "webflow-client-secret-9b2e",
    "formstack": "formstack-hmac-key-77d0",
    "wufoo": "wufoo-handshake-key-3a61",
    "jotform": "jotform-url-token-Qm8vX2pL",
    "zoho-forms": "zoho-bearer-token-Hk3nB7sD",
}
BODY = b'{"email": "customer@example.com", "submission_id": "sub-1"}'
FORM = b"Field1=Sam&Email=customer%40example.com"
BUILDERS = {
    "http-api": http_api_event,
    "function-url": function_url_event,
    "rest-api": rest_api_event,
}
# provider → (scheme, token in a header, body, content type)
TOOLS = {
    "hubspot": ("hubspot", False, BODY, "application/json"),
    "webflow": ("webflow", False, BODY, "application/json"),
    "formstack": ("formstack", False, FORM, "application/x-www-form-urlencoded"),
    "wufoo": ("wufoo", False, FORM, "application/x-www-form-urlencoded"),
    "jotform": ("token", False, BODY, "application/json"),
    "zoho-forms": ("token", True, BODY, "application/json"),
}


@pytest.fixture
def tools_env(function_env):
    function_env(WEBHOOK_SECRETS=json.dumps(SECRETS), ALLOW_UNSIGNED_WEBHOOKS=None)


def status_of(result: dict) -> tuple[int, str | None]:
    body = json.loads(result["body"])
    return result["statusCode"], body.get("error", {}).get("code")


def event_for(source: str, provider: str, **changes) -> dict:
    scheme, bearer, body, content_type = TOOLS[provider]
    event = BUILDERS[source](body, provider=provider, content_type=content_type)
    signed_events.sign_event(
        event,
        changes.get("scheme", scheme),
        changes.get("secret", SECRETS[provider]),
        bearer=bearer,
    )
    return event


@pytest.mark.parametrize("source", BUILDERS)
@pytest.mark.parametrize("provider", TOOLS)
def test_each_tool_gets_in_on_every_route_kind(stack, invoke, tools_env, source, provider):
    assert status_of(invoke(event_for(source, provider))) == (202, None)
    [message] = stack.receive_all()
    assert message["body"]["email"] == "customer@example.com"
    assert message["body"]["source"]["provider"] == provider


@pytest.mark.parametrize("provider", TOOLS)
def test_a_changed_body_or_another_secret_is_refused(stack, invoke, tools_env, provider):
    tampered = event_for("http-api", provider)
    if provider in ("jotform", "zoho-forms", "wufoo"):  # a shared secret covers no body
        tampered = event_for("http-api", provider, secret="not-" + SECRETS[provider])
    else:
        tampered["body"] = tampered["body"].replace("Sam", "Eve").replace("sub-1", "sub-2")
    assert status_of(invoke(tampered)) == (401, "unauthorized")
    unsigned = TOOLS[provider]
    bare = http_api_event(unsigned[2], provider=provider, content_type=unsigned[3])
    assert status_of(invoke(bare)) == (401, "unauthorized")
    assert stack.receive_all() == []


def test_another_schemes_signature_is_refused_on_a_tool_route(stack, invoke, tools_env):
    """/webhooks/hubspot is HubSpot's, whatever the request says."""
    event = http_api_event(BODY, provider="hubspot")
    signed_events.sign_event(event, "standard-webhooks", SECRETS["hubspot"])
    assert status_of(invoke(event)) == (401, "unauthorized")
    webflow_signed = event_for("http-api", "webflow", secret=SECRETS["hubspot"])
    webflow_signed["rawPath"] = "/webhooks/hubspot"
    webflow_signed["pathParameters"] = {"provider": "hubspot"}
    assert status_of(invoke(webflow_signed)) == (401, "unauthorized")


@pytest.mark.parametrize(("skew", "status"), [(-290, 202), (-310, 401), (310, 401)])
def test_hubspot_and_webflow_timestamps_expire(stack, invoke, tools_env, skew, status):
    """Captured 5 minutes ago (or stamped 5 minutes ahead): refused."""
    from local.stand_ins import webhook_signing

    sent_at = int((time.time() + skew) * 1000)
    event = http_api_event(BODY, provider="hubspot")
    url = signed_events.event_url(event)
    event["headers"].update(
        {
            k.lower(): v
            for k, v in webhook_signing.hubspot_v3(
                SECRETS["hubspot"], "POST", url, BODY, sent_at
            ).items()
        }
    )
    assert invoke(event)["statusCode"] == status
    event = http_api_event(BODY, provider="webflow")
    event["headers"].update(webhook_signing.webflow(SECRETS["webflow"], BODY, sent_at))
    result = invoke(event)
    assert result["statusCode"] == status
    if status == 401:
        assert "tolerance" in json.loads(result["body"])["error"]["message"]


# --- HubSpot behind each kind of URL -------------------------------------------------------------
def hubspot_event_sent_to(url: str, event: dict) -> dict:
    signed_events.sign_event(event, "hubspot", SECRETS["hubspot"], url_of=lambda _: url)
    return event


def test_hubspot_on_a_named_stage(stack, invoke, tools_env):
    event = http_api_event(BODY, provider="hubspot", path="/prod/webhooks/hubspot")
    event["requestContext"]["stage"] = "prod"
    event["rawQueryString"] = "portal=62515&from=a%3Ab"
    host = event["requestContext"]["domainName"]
    url = f"https://{host}/prod/webhooks/hubspot?portal=62515&from=a:b"
    assert status_of(invoke(hubspot_event_sent_to(url, event))) == (202, None)


def test_hubspot_behind_a_custom_domain_needs_the_base_url(
    stack, invoke, function_env, function_logs
):
    """hooks.example.com with the API mapped at `forms`: the event does not say `/forms`."""
    function_env(WEBHOOK_SECRETS=json.dumps(SECRETS), ALLOW_UNSIGNED_WEBHOOKS=None)
    url = "https://hooks.example.com/forms/webhooks/hubspot"
    event = http_api_event(BODY, provider="hubspot")
    event["requestContext"]["domainName"] = event["headers"]["host"] = "hooks.example.com"
    assert status_of(invoke(hubspot_event_sent_to(url, event))) == (401, "unauthorized")
    assert "set WEBHOOK_BASE_URL" in function_logs()
    function_env(
        WEBHOOK_SECRETS=json.dumps(SECRETS),
        ALLOW_UNSIGNED_WEBHOOKS=None,
        WEBHOOK_BASE_URL="https://hooks.example.com/forms",
    )
    assert status_of(invoke(event)) == (202, None)


# --- secrets never go further ------------------------------------------------------------------
@pytest.mark.parametrize("source", BUILDERS)
@pytest.mark.parametrize("provider", ["jotform", "zoho-forms", "wufoo", "formstack"])
def test_no_secret_is_forwarded_logged_or_answered(
    stack, invoke, function_env, function_logs, source, provider
):
    function_env(
        WEBHOOK_SECRETS=json.dumps(SECRETS),
        ALLOW_UNSIGNED_WEBHOOKS=None,
        LOG_LEVEL="DEBUG",
        POWERTOOLS_LOGGER_LOG_EVENT="true",  # asks Powertools to log each event: refused
    )
    event = event_for(source, provider)
    if provider == "formstack":  # Formstack adds its own HandshakeKey field when one is set
        signed_events.sign_event(event, "wufoo", "formstack-handshake-9c1d")
        signed_events.sign_event(event, "formstack", SECRETS["formstack"])
    result = invoke(event)
    assert status_of(result) == (202, None)
    wrong = event_for(source, provider, secret="wrong-" + SECRETS[provider])
    refused = invoke(wrong)
    assert status_of(refused) == (401, "unauthorized")
    [message] = stack.receive_all()
    text = json.dumps(message) + function_logs() + result["body"] + refused["body"]
    for secret in (SECRETS[provider], "wrong-" + SECRETS[provider], "formstack-handshake-9c1d"):
        assert secret not in text
    assert "HandshakeKey" not in json.dumps(message["body"]["payload"])
    assert message["body"]["payload"].get("Field1", "Sam") == "Sam"


def test_the_queued_message_holds_no_token(stack, invoke, function_env):
    function_env(
        WEBHOOK_SECRETS=json.dumps(SECRETS),
        ALLOW_UNSIGNED_WEBHOOKS=None,
        INTAKE_QUEUE_URL=stack.intake_queue_url,
    )
    assert invoke(event_for("http-api", "jotform"))["statusCode"] == 202
    sqs = stack.client("sqs")
    # Read, not taken: left visible, the next test's clean slate removes it (it would come
    # back on the intake queue after its visibility timeout otherwise).
    messages = sqs.receive_message(
        QueueUrl=stack.intake_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    [queued] = messages["Messages"]
    assert SECRETS["jotform"] not in json.dumps(queued)


# --- hostile inputs -------------------------------------------------------------------------------
def test_an_8_kib_signature_header_is_a_clean_401(stack, invoke, tools_env):
    for provider, header in (
        ("hubspot", "x-hubspot-signature-v3"),
        ("webflow", "x-webflow-signature"),
        ("formstack", "x-fs-signature"),
        ("zoho-forms", "authorization"),
    ):
        event = event_for("http-api", provider)
        event["headers"][header] = ("sha256=" if provider == "formstack" else "") + "A" * 8192
        assert status_of(invoke(event)) == (401, "unauthorized"), provider
    event = event_for("http-api", "hubspot")
    event["headers"]["x-hubspot-request-timestamp"] = "9" * 8192
    assert status_of(invoke(event)) == (401, "unauthorized")
    assert stack.receive_all() == []


def test_non_ascii_signatures_and_tokens_are_a_clean_401(stack, invoke, tools_env):
    event = event_for("http-api", "webflow")
    event["headers"]["x-webflow-signature"] = "é" * 64
    assert status_of(invoke(event)) == (401, "unauthorized")
    event = event_for("http-api", "zoho-forms")
    event["headers"]["authorization"] = "Bearer " + SECRETS["zoho-forms"] + "\u2028"
    assert status_of(invoke(event)) == (401, "unauthorized")
    event = http_api_event(BODY, provider="jotform")
    event["rawQueryString"] = "token=" + "%C3%A9" * 20
    assert status_of(invoke(event)) == (401, "unauthorized")


def test_a_repeated_signature_header_is_refused_even_when_both_values_verify(
    stack, invoke, tools_env
):
    """REST APIs keep a repeated header in multiValueHeaders; HTTP APIs join it with commas."""
    rest = event_for("rest-api", "formstack")
    signature = rest["headers"]["X-FS-Signature"]
    rest["multiValueHeaders"]["X-FS-Signature"] = [signature, signature]
    assert status_of(invoke(rest)) == (401, "unauthorized")
    v2 = event_for("http-api", "formstack")
    v2["headers"]["x-fs-signature"] = f"{signature},{signature}"
    assert status_of(invoke(v2)) == (401, "unauthorized")
    rest = event_for("rest-api", "jotform")
    rest["multiValueQueryStringParameters"]["token"].append(SECRETS["jotform"])
    assert status_of(invoke(rest)) == (401, "unauthorized")
    assert stack.receive_all() == []


def test_seconds_where_milliseconds_are_expected_is_a_clear_401(stack, invoke, tools_env):
    from local.stand_ins import webhook_signing

    event = http_api_event(BODY, provider="webflow")
    headers = webhook_signing.webflow(SECRETS["webflow"], BODY, int(time.time()))
    event["headers"].update(headers)
    result = invoke(event)
    assert status_of(result) == (401, "unauthorized")
    assert "milliseconds" in json.loads(result["body"])["error"]["message"]
