"""Hypothesis against the real handler's HTTP sources: arbitrary bodies, content types, encodings,
headers and emails get a documented answer; Minimo's path never changes shape; neither secrets
nor raw emails reach the logs."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from checks.email_addresses import normalise_email
from local.stand_ins.lambda_events import http_api_event
from tests import signing
from tests.integration.fuzzing.documented_answers import DOCUMENTED, DOCUMENTED_HERE, drain
from tests.integration.fuzzing.fuzz_budget import FUZZ, FUZZ_MARKS, examples
from tests.integration.fuzzing.request_strategies import bodies, content_types, emails, headers

MINIMO_PATH = re.compile(r"/public/v1/contacts/by-email/[A-Za-z0-9\-_.!~*'()%]+")
pytestmark = FUZZ_MARKS


@settings(FUZZ, max_examples=examples(600))
@given(
    body=bodies,
    content_type=content_types,
    encode=st.booleans(),
    extra=headers,
    method=st.sampled_from(["POST", "POST", "PUT"]),
)
def test_arbitrary_requests_get_documented_answers(
    stack, invoke, body, content_type, encode, extra, method
):
    event = http_api_event(
        body, content_type=content_type, headers=extra, base64_encode=encode, method=method
    )
    result = invoke(event)
    assert result["statusCode"] in DOCUMENTED_HERE
    answer = json.loads(result["body"])
    forwarded = drain(stack)
    if result["statusCode"] == 202:
        assert [m["body"]["event_id"] for m in forwarded] == [answer["event_id"]]
    else:
        assert forwarded == []
        assert set(answer["error"]) == {"code", "message"}


@settings(FUZZ, max_examples=examples(500))
@given(candidate=emails)
def test_minimo_path_never_changes_shape(stack, invoke, candidate):
    stack.minimo.clear_requests()
    stack.sales.clear_requests()
    result = invoke(http_api_event({"email": candidate}))
    assert result["statusCode"] == 202
    [message] = drain(stack)
    normalised = normalise_email(candidate)
    assert message["body"]["email"] == normalised
    if normalised is None:
        assert stack.minimo.requests() == []
        return
    for request in stack.minimo.requests():
        assert MINIMO_PATH.fullmatch(request["path"]), request["path"]
        assert request["email"] == normalised  # decoded by the API, it is the address itself
    for request in stack.sales.requests():
        assert request["body"]["email"] == normalised


SECRET = "whsec_" + base64.b64encode(b"fuzzing-secret-value-1234").decode()


@pytest.fixture
def secret_env(function_env):
    function_env(WEBHOOK_SECRET=SECRET, LOG_LEVEL="DEBUG")


@settings(FUZZ, max_examples=examples(300))
@given(candidate=st.emails(), signed=st.booleans(), tamper=st.booleans(), extra=headers)
def test_logs_hold_no_secrets_and_no_raw_emails(
    stack, invoke, secret_env, function_logs, candidate, signed, tamper, extra
):
    assume(len(candidate.split("@")[0]) > 1)  # a one-letter local part is all mask
    body = json.dumps({"email": candidate, "note": "hello"}).encode()
    sent_headers = dict(extra)
    if signed:
        sent_headers.update(signing.standard_webhooks(SECRET, "msg_fuzz", body))
    if tamper:
        body += b" "
    before = len(function_logs())
    result = invoke(http_api_event(body, headers=sent_headers))
    drain(stack)
    logs = function_logs()[before:]
    assert result["statusCode"] in DOCUMENTED
    for secret in (SECRET, stack.minimo_api_key, stack.sales_api_key):
        assert secret not in logs
        assert secret not in result["body"]
    normalised = normalise_email(candidate) or candidate
    assert normalised not in logs
    assert candidate not in logs
