"""Signed webhooks through the real handler: nothing unsigned gets in, nothing is forwarded."""

from __future__ import annotations

import json
import time

import pytest

from local.lambda_events import http_api_event
from tests import signing

BODY = b'{"email": "customer@example.com", "event_id": "evt-1"}'
SECRET = "whsec_" + "c2lnbmluZyBzZWNyZXQgZm9yIHRlc3Rz"


@pytest.fixture
def signed_env(function_env):
    function_env(WEBHOOK_SECRET=SECRET)


def status_of(result: dict) -> tuple[int, str | None]:
    body = json.loads(result["body"])
    return result["statusCode"], body.get("error", {}).get("code")


def test_a_signed_request_is_forwarded(stack, invoke, signed_env):
    headers = signing.standard_webhooks(SECRET, "msg_1", BODY)
    assert status_of(invoke(http_api_event(BODY, headers=headers))) == (202, None)
    [message] = stack.receive_all()
    assert message["body"]["event_id"] == "msg_1"  # webhook-id is the delivery id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        signing.standard_webhooks(SECRET, "msg_1", BODY + b" "),
        signing.standard_webhooks("whsec_d3Jvbmcgc2VjcmV0", "msg_1", BODY),
        signing.standard_webhooks(SECRET, "msg_1", BODY, timestamp=int(time.time()) - 600),
    ],
    ids=["unsigned", "tampered", "wrong-secret", "replayed-old"],
)
def test_anything_else_is_refused_and_nothing_forwarded(stack, invoke, signed_env, headers):
    result = invoke(http_api_event(BODY, headers=headers))
    assert status_of(result) == (401, "unauthorized")
    assert SECRET not in result["body"]
    assert stack.receive_all() == []
    assert stack.minimo.requests() == []


def test_the_signature_covers_the_decoded_bytes_of_a_base64_body(stack, invoke, signed_env):
    body = b"email=caf%C3%A9%40example.com"
    headers = signing.standard_webhooks(SECRET, "msg_2", body)
    event = http_api_event(
        body, content_type="application/x-www-form-urlencoded", headers=headers, base64_encode=True
    )
    assert status_of(invoke(event)) == (202, None)


@pytest.mark.parametrize(
    ("provider", "sign"),
    [("typeform", signing.typeform), ("tally", signing.tally), ("github", signing.github)],
)
def test_presets_by_route(stack, invoke, function_env, provider, sign):
    function_env(WEBHOOK_SECRET="plain-secret")
    event = http_api_event(BODY, provider=provider, headers=sign("plain-secret", BODY))
    assert status_of(invoke(event)) == (202, None)
    event = http_api_event(BODY, provider="website", headers=sign("plain-secret", BODY))
    assert status_of(invoke(event)) == (401, "unauthorized")  # website uses Standard Webhooks


def test_a_preset_for_every_route(stack, invoke, function_env):
    function_env(WEBHOOK_SECRET="plain-secret", SIGNATURE_SCHEME="github")
    event = http_api_event(BODY, provider="website", headers=signing.github("plain-secret", BODY))
    assert status_of(invoke(event)) == (202, None)


def test_rotation_accepts_old_and_new_secrets(stack, invoke, function_env):
    function_env(WEBHOOK_SECRET="old-secret new-secret")
    for secret in ("old-secret", "new-secret"):
        event = http_api_event(BODY, provider="tally", headers=signing.tally(secret, BODY))
        assert status_of(invoke(event)) == (202, None)
    event = http_api_event(BODY, provider="tally", headers=signing.tally("retired", BODY))
    assert status_of(invoke(event)) == (401, "unauthorized")


def test_secret_from_secrets_manager(stack, invoke, function_env):
    function_env(API_KEYS_SECRET_ARN=stack.secret_arn)
    unsigned = invoke(http_api_event(BODY))
    assert status_of(unsigned) == (401, "unauthorized")
    headers = signing.standard_webhooks(stack.webhook_secret, "msg_3", BODY)
    assert status_of(invoke(http_api_event(BODY, headers=headers))) == (202, None)


def test_an_unreadable_secret_fails_closed(stack, invoke, function_env):
    function_env(API_KEYS_SECRET_ARN=stack.secret_arn + "-gone")
    assert status_of(invoke(http_api_event(BODY))) == (503, "unavailable")
    assert stack.receive_all() == []


def test_checks_are_off_without_a_secret(stack, invoke):
    assert status_of(invoke(http_api_event(BODY))) == (202, None)
