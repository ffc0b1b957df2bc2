"""Every form tool's route, fuzzed: only what the tool's signature or token proved is forwarded."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.stand_ins import signed_events
from local.stand_ins.lambda_events import http_api_event
from tests.integration.fuzzing.documented_answers import DOCUMENTED, drain
from tests.integration.fuzzing.fuzz_budget import FUZZ, FUZZ_MARKS, examples
from tests.integration.fuzzing.request_strategies import bodies

pytestmark = FUZZ_MARKS


TOOL_SECRETS = {
    "hubspot": "fuzz-hubspot-secret-0a1b",
    "webflow": "fuzz-webflow-secret-2c3d",
    "formstack": "fuzz-formstack-key-4e5f",
    "wufoo": "fuzz-wufoo-handshake-6a7b",
    "jotform": "fuzz-jotform-token-8c9d",
    "zapier": "fuzz-zapier-token-0e1f",
}


tool_headers = st.dictionaries(
    st.sampled_from(
        [
            "x-hubspot-signature-v3",
            "x-hubspot-request-timestamp",
            "x-webflow-signature",
            "x-webflow-timestamp",
            "x-fs-signature",
            "authorization",
            "content-type",
        ]
    ),
    st.one_of(st.text(max_size=60), st.just("9" * 8192), st.just("Bearer " + "A" * 8185)),
    max_size=3,
)


@pytest.fixture
def tools_env(function_env):
    function_env(WEBHOOK_SECRETS=json.dumps(TOOL_SECRETS), ALLOW_UNSIGNED_WEBHOOKS=None)


@settings(FUZZ, max_examples=examples(200))
@given(
    provider=st.sampled_from(sorted(TOOL_SECRETS)),
    body=bodies,
    sign=st.booleans(),
    extra=tool_headers,
    query=st.text(max_size=40),
)
def test_form_tool_routes_forward_only_what_their_tool_proved(
    stack, invoke, tools_env, function_logs, provider, body, sign, extra, query
):
    event = http_api_event(body, provider=provider, content_type="application/json")
    event["rawQueryString"] = query
    if sign:
        scheme, bearer = signed_events.tool_scheme(provider)
        signed_events.sign_event(event, scheme, TOOL_SECRETS[provider], bearer=bearer)
    tampered = bool(extra)
    event["headers"].update(extra)
    before = len(function_logs())
    result = invoke(event)
    forwarded = drain(stack)
    logs = function_logs()[before:]
    assert result["statusCode"] in DOCUMENTED
    if not sign:
        assert result["statusCode"] == 401
    if result["statusCode"] != 202:
        assert forwarded == []
    elif not tampered:
        assert len(forwarded) == 1
    for secret in TOOL_SECRETS.values():
        assert secret not in logs
        assert secret not in result["body"]
        assert secret not in json.dumps(forwarded)
