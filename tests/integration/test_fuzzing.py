"""Hypothesis against the real handler: arbitrary bodies, content types, encodings, headers and
emails. Never an unhandled exception, only the documented statuses, Minimo's path never changes
shape, and neither secrets nor raw emails reach the logs. 2,400 examples in all."""

from __future__ import annotations

import base64
import json
import re
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from email_addresses import normalise_email
from local.lambda_events import http_api_event, sqs_record
from tests import signing

DOCUMENTED = {202, 400, 401, 405, 409, 413, 415, 422, 503}
MINIMO_PATH = re.compile(r"/public/v1/contacts/by-email/[A-Za-z0-9\-_.!~*'()%]+")
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.api+json",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/x-www-form-urlencoded; charset=no-such-charset",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "text/plain",
            "application/xml",
            "",
            ";;;",
            "application/json; charset=",
        ]
    ),
    st.text(max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
tricky_local = st.text(
    alphabet=string.ascii_letters + string.digits + "+/?#%'!*&=._-~ü€",
    min_size=1,
    max_size=70,
)
domains = st.from_regex(r"[a-z0-9]{1,12}(\.[a-z]{2,6}){1,2}", fullmatch=True)
emails = st.one_of(
    st.emails(),
    st.builds(lambda local, domain: f"{local}@{domain}", tricky_local, domains),
    st.builds(
        lambda name, addr: f"{name} <{addr}>",
        st.text(string.ascii_letters, max_size=10),
        st.emails(),
    ),
    st.builds(lambda addr: f"  {addr.upper()}  ", st.emails()),
    st.text(max_size=80),
)
bodies = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=10), emails | st.text(max_size=20), max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
    st.lists(st.tuples(st.text(max_size=8), emails), max_size=4).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode()
    ),
)
header_names = st.sampled_from(
    [
        "webhook-id",
        "idempotency-key",
        "x-webhook-id",
        "webhook-signature",
        "webhook-timestamp",
        "x-anything",
    ]
)
headers = st.dictionaries(header_names, st.text(string.printable, max_size=40), max_size=4)


def drain(stack) -> list[dict]:
    return stack.receive_all()


@settings(FUZZ, max_examples=1000)
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
    assert result["statusCode"] in DOCUMENTED
    answer = json.loads(result["body"])
    forwarded = drain(stack)
    if result["statusCode"] == 202:
        assert [m["body"]["event_id"] for m in forwarded] == [answer["event_id"]]
    else:
        assert forwarded == []
        assert set(answer["error"]) == {"code", "message"}


@settings(FUZZ, max_examples=800)
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


@settings(FUZZ, max_examples=400)
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


@settings(FUZZ, max_examples=200)
@given(
    records=st.lists(
        st.one_of(bodies.map(lambda b: b.decode("utf-8", "replace")), json_values.map(json.dumps)),
        min_size=1,
        max_size=12,
    )
)
def test_arbitrary_sqs_records_are_forwarded_or_reported(stack, invoke, records):
    event = {"Records": [sqs_record(body) for body in records]}
    result = invoke(event)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    forwarded = drain(stack)
    ids = [r["messageId"] for r in event["Records"]]
    assert failed <= set(ids)
    # Records that carry the same delivery id are one delivery: forwarded once.
    assert len(forwarded) <= len(ids) - len(failed)
    assert len(forwarded) >= min(1, len(ids) - len(failed))
