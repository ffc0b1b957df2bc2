"""Routes whose scheme configuration fixes (presets, SIGNATURE_ROUTES), each with its own
secret, through the real handler; and requests captured on one scheme replayed to another,
refused."""

from __future__ import annotations

import base64
import json

import pytest

from checks.signatures import routes as webhook_signatures
from local.stand_ins.lambda_events import http_api_event
from tests import signing
from tests.integration.signed_webhooks import (
    BODY,
    PLAIN_SECRET,
    SECRET,
    nothing_went_out,
    status_of,
)

# --- presets: each route's scheme is fixed by configuration, each preset has its own secret ------
PRESETS = [("typeform", signing.typeform), ("tally", signing.tally), ("github", signing.github)]


@pytest.mark.parametrize(("provider", "sign"), PRESETS)
def test_presets_by_route_with_their_own_secret(stack, invoke, function_env, provider, sign):
    function_env(
        WEBHOOK_SECRET=PLAIN_SECRET,
        WEBHOOK_SECRETS=json.dumps({provider: "own-secret"}),
        ALLOW_UNSIGNED_WEBHOOKS=None,
    )
    event = http_api_event(BODY, provider=provider, headers=sign("own-secret", BODY))
    assert status_of(invoke(event)) == (202, None)
    event = http_api_event(BODY, provider="website", headers=sign("own-secret", BODY))
    assert status_of(invoke(event)) == (401, "unauthorized")  # website uses Standard Webhooks


@pytest.mark.parametrize(("provider", "sign"), PRESETS)
def test_a_preset_never_verifies_with_the_shared_secret(
    stack, invoke, function_env, function_logs, provider, sign
):
    function_env(WEBHOOK_SECRET=PLAIN_SECRET, ALLOW_UNSIGNED_WEBHOOKS=None)
    event = http_api_event(BODY, provider=provider, headers=sign(PLAIN_SECRET, BODY))
    assert status_of(invoke(event)) == (401, "unauthorized")
    assert nothing_went_out(stack)
    assert "give the provider its own" in function_logs()


def test_rotating_a_providers_secret(stack, invoke, function_env):
    function_env(
        WEBHOOK_SECRETS=json.dumps({"tally": ["old-secret", "new-secret"]}),
        ALLOW_UNSIGNED_WEBHOOKS=None,
    )
    for secret, expected in (("old-secret", 202), ("new-secret", 202), ("retired", 401)):
        event = http_api_event(BODY, provider="tally", headers=signing.tally(secret, BODY))
        assert invoke(event)["statusCode"] == expected


def test_a_preset_for_every_route(stack, invoke, function_env):
    function_env(
        WEBHOOK_SECRET="plain-secret", SIGNATURE_SCHEME="github", ALLOW_UNSIGNED_WEBHOOKS=None
    )
    event = http_api_event(BODY, provider="website", headers=signing.github("plain-secret", BODY))
    assert status_of(invoke(event)) == (202, None)


def test_signature_routes_fix_a_routes_scheme(stack, invoke, function_env):
    function_env(
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_SECRETS=json.dumps({"contact-form": "form-secret"}),
        SIGNATURE_ROUTES="contact-form=tally,typeform=standard-webhooks",
        ALLOW_UNSIGNED_WEBHOOKS=None,
    )
    tally_signed = signing.tally("form-secret", BODY)
    assert invoke(http_api_event(BODY, provider="contact-form", headers=tally_signed))[
        "statusCode"
    ] == (202)
    assert invoke(http_api_event(BODY, provider="tally", headers=tally_signed))["statusCode"] == 401
    # /webhooks/typeform is configured for Standard Webhooks: the Typeform preset is refused there.
    typeform_signed = signing.typeform(SECRET, BODY)
    assert invoke(http_api_event(BODY, provider="typeform", headers=typeform_signed))[
        "statusCode"
    ] == (401)
    standard = signing.standard_webhooks(SECRET, "msg_tf", BODY)
    assert invoke(http_api_event(BODY, provider="typeform", headers=standard))["statusCode"] == 202


# --- cross-scheme replays ------------------------------------------------------------------------
def replayed_as(preset: str, captured: dict[str, str]) -> dict[str, str]:
    """A captured Standard Webhooks signature, rewritten as `preset`'s header. Its HMAC covers
    "id.timestamp.body": as a preset (which signs the body alone) it verifies for that string."""
    digest = base64.b64decode(captured["webhook-signature"].removeprefix("v1,"))
    if preset == "typeform":
        return {"Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}
    if preset == "tally":
        return {"Tally-Signature": base64.b64encode(digest).decode()}
    return {"X-Hub-Signature-256": "sha256=" + digest.hex()}


@pytest.mark.parametrize("preset", ["tally", "github", "typeform"])
def test_a_captured_standard_webhooks_request_cannot_be_replayed_to_a_preset_route(
    stack, invoke, function_env, preset
):
    """The default configuration, with the plain secret the template generates."""
    function_env(WEBHOOK_SECRET=PLAIN_SECRET, ALLOW_UNSIGNED_WEBHOOKS=None)
    form = b"email=customer%40example.com"
    captured = signing.standard_webhooks(PLAIN_SECRET, "msg_captured", form)
    original = http_api_event(
        form, content_type="application/x-www-form-urlencoded", headers=captured
    )
    assert status_of(invoke(original)) == (202, None)
    stack.reset()
    # Days later: the signed string as the body, the signature in the preset's header.
    body = f"msg_captured.{captured['webhook-timestamp']}.".encode() + form
    headers = replayed_as(preset, captured)
    # The forgery is sound: a verifier that let the URL pick the scheme would accept it.
    webhook_signatures.verify(
        preset,
        (PLAIN_SECRET,),
        webhook_signatures.SignedRequest({k.lower(): v for k, v in headers.items()}, body),
    )
    replay = http_api_event(
        body, provider=preset, content_type="application/x-www-form-urlencoded", headers=headers
    )
    assert status_of(invoke(replay)) == (401, "unauthorized")
    assert nothing_went_out(stack)


def test_a_captured_preset_request_cannot_be_replayed_to_another_preset(
    stack, invoke, function_env
):
    function_env(
        WEBHOOK_SECRETS=json.dumps({"typeform": "typeform-secret", "tally": "tally-secret"}),
        ALLOW_UNSIGNED_WEBHOOKS=None,
    )
    captured = signing.typeform("typeform-secret", BODY)
    assert invoke(http_api_event(BODY, provider="typeform", headers=captured))["statusCode"] == 202
    stack.reset()
    as_tally = {"Tally-Signature": captured["Typeform-Signature"].removeprefix("sha256=")}
    assert status_of(invoke(http_api_event(BODY, provider="tally", headers=as_tally))) == (
        401,
        "unauthorized",
    )
    assert nothing_went_out(stack)


def test_one_secret_for_two_schemes_is_refused_on_both(stack, invoke, function_env, function_logs):
    function_env(
        WEBHOOK_SECRET=PLAIN_SECRET,
        WEBHOOK_SECRETS=json.dumps({"typeform": PLAIN_SECRET}),
        ALLOW_UNSIGNED_WEBHOOKS=None,
    )
    typeform = http_api_event(
        BODY, provider="typeform", headers=signing.typeform(PLAIN_SECRET, BODY)
    )
    standard = http_api_event(
        BODY, headers=signing.standard_webhooks(PLAIN_SECRET, "msg_shared", BODY)
    )
    assert status_of(invoke(typeform)) == (401, "unauthorized")
    assert status_of(invoke(standard)) == (401, "unauthorized")
    assert nothing_went_out(stack)
    logs = function_logs()
    assert "serves two signature schemes" in logs
    assert PLAIN_SECRET not in logs


def test_per_provider_secrets_from_secrets_manager(stack, invoke, function_env):
    secretsmanager = stack.client("secretsmanager")
    value = {
        "minimo_api_key": stack.minimo_api_key,
        "sales_api_key": stack.sales_api_key,
        "webhook_secret": SECRET,
        "webhook_secrets": {"Tally": "tally-secret"},
    }
    try:
        arn = secretsmanager.create_secret(Name="per-provider", SecretString=json.dumps(value))[
            "ARN"
        ]
    except secretsmanager.exceptions.ResourceExistsException:
        arn = secretsmanager.put_secret_value(
            SecretId="per-provider", SecretString=json.dumps(value)
        )["ARN"]
    function_env(API_KEYS_SECRET_ARN=arn, ALLOW_UNSIGNED_WEBHOOKS=None)
    tally = http_api_event(BODY, provider="tally", headers=signing.tally("tally-secret", BODY))
    assert status_of(invoke(tally)) == (202, None)
    standard = http_api_event(BODY, headers=signing.standard_webhooks(SECRET, "msg_sm", BODY))
    assert status_of(invoke(standard)) == (202, None)
