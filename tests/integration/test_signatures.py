"""Signed webhooks through the real handler: nothing unsigned gets in, nothing is forwarded.

The local stack allows unsigned requests (ALLOW_UNSIGNED_WEBHOOKS=true, no secret) so that other
tests can post freely; here every test sets the signing configuration it is about. Each route's
own scheme (presets) and cross-scheme replays: test_preset_signatures.py."""

from __future__ import annotations

import time

import pytest

from local.stand_ins.lambda_events import http_api_event
from tests import signing
from tests.integration.signed_webhooks import (
    BODY,
    BUILDERS,
    SECRET,
    keys_only_secret,
    nothing_went_out,
    status_of,
)


@pytest.fixture
def signed_env(function_env):
    function_env(WEBHOOK_SECRET=SECRET, ALLOW_UNSIGNED_WEBHOOKS=None)  # the deployed default


# --- Standard Webhooks --------------------------------------------------------------------------
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
    assert nothing_went_out(stack)


@pytest.mark.parametrize("source", BUILDERS)
def test_every_public_route_checks_signatures(stack, invoke, signed_env, source):
    build = BUILDERS[source]
    assert status_of(invoke(build(BODY))) == (401, "unauthorized")
    headers = signing.standard_webhooks(SECRET, f"msg_{source}", BODY)
    assert status_of(invoke(build(BODY, headers=headers))) == (202, None)
    [message] = stack.receive_all()
    assert message["body"]["event_id"] == f"msg_{source}"


def test_the_signature_covers_the_decoded_bytes_of_a_base64_body(stack, invoke, signed_env):
    body = b"email=caf%C3%A9%40example.com"
    headers = signing.standard_webhooks(SECRET, "msg_2", body)
    event = http_api_event(
        body, content_type="application/x-www-form-urlencoded", headers=headers, base64_encode=True
    )
    assert status_of(invoke(event)) == (202, None)


def test_rotation_accepts_old_and_new_secrets(stack, invoke, function_env):
    function_env(WEBHOOK_SECRET="old-secret new-secret", ALLOW_UNSIGNED_WEBHOOKS=None)
    for n, secret in enumerate(("old-secret", "new-secret", "retired")):
        headers = signing.standard_webhooks(secret, f"msg_{n}", BODY)
        expected = (401, "unauthorized") if secret == "retired" else (202, None)
        assert status_of(invoke(http_api_event(BODY, headers=headers))) == expected


@pytest.mark.parametrize("allow", [None, "false"], ids=["unset", "false"])
@pytest.mark.parametrize("source", BUILDERS)
def test_a_deployed_secret_without_a_webhook_secret_lets_nothing_in(
    stack, invoke, function_env, function_logs, allow, source
):
    function_env(API_KEYS_SECRET_ARN=keys_only_secret(stack), ALLOW_UNSIGNED_WEBHOOKS=allow)
    result = invoke(BUILDERS[source](BODY))
    assert status_of(result) == (503, "unavailable")  # the sender retries; nothing is lost
    assert nothing_went_out(stack)
    assert "no webhook secret is configured" in function_logs()


def test_unsigned_webhooks_are_let_in_only_when_explicitly_allowed(stack, invoke, function_env):
    function_env(API_KEYS_SECRET_ARN=keys_only_secret(stack), ALLOW_UNSIGNED_WEBHOOKS="true")
    assert status_of(invoke(http_api_event(BODY))) == (202, None)


def test_a_local_run_without_webhook_secret_has_its_checks_off(stack, invoke, function_env):
    """Keys and secret from the environment only (no secret ARN), as local runs set them."""
    function_env(API_KEYS_SECRET_ARN=None, WEBHOOK_SECRET=None, ALLOW_UNSIGNED_WEBHOOKS=None)
    assert status_of(invoke(http_api_event(BODY))) == (202, None)


def test_unsigned_requests_need_the_explicit_switch_and_no_secret(stack, invoke, function_env):
    function_env(ALLOW_UNSIGNED_WEBHOOKS="true")
    assert status_of(invoke(http_api_event(BODY))) == (202, None)
    # The switch never overrides a configured secret.
    function_env(ALLOW_UNSIGNED_WEBHOOKS="true", WEBHOOK_SECRET=SECRET)
    assert status_of(invoke(http_api_event(BODY))) == (401, "unauthorized")
    function_env(ALLOW_UNSIGNED_WEBHOOKS="true", WEBHOOK_SECRETS='{"tally": "tally-secret"}')
    assert status_of(invoke(http_api_event(BODY, provider="website"))) == (401, "unauthorized")


def test_secret_from_secrets_manager(stack, invoke, function_env):
    function_env(API_KEYS_SECRET_ARN=stack.secret_arn, ALLOW_UNSIGNED_WEBHOOKS=None)
    unsigned = invoke(http_api_event(BODY))
    assert status_of(unsigned) == (401, "unauthorized")
    headers = signing.standard_webhooks(stack.webhook_secret, "msg_3", BODY)
    assert status_of(invoke(http_api_event(BODY, headers=headers))) == (202, None)


def test_an_unreadable_secret_fails_closed(stack, invoke, function_env):
    function_env(API_KEYS_SECRET_ARN=stack.secret_arn + "-gone", ALLOW_UNSIGNED_WEBHOOKS="true")
    assert status_of(invoke(http_api_event(BODY))) == (503, "unavailable")
    assert stack.receive_all() == []
