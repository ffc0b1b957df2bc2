"""Hypothesis against the real handler, for every source: arbitrary bodies, content types,
encodings, headers and emails, and the wire space of tests/wire_strategies.py (hand-written JSON
with lone surrogates, `\\u0000`, 1e400, nesting around the limit and duplicate keys; multipart
with its own part headers, charsets and malformations; base64 variants).

The property, for each source: the handler gives a documented answer (the right one, by the
policy's reference reading) and every message it queues is strict JSON, which stack.receive_all
checks for every message it reads. Also: Minimo's path never changes shape, and neither secrets
nor raw emails reach the logs.

`make test` runs 3,950 examples; `make fuzz` sets FUZZ_SCALE=4, which multiplies every count:
15,800 examples (docs/testing.md). Also: odd shapes of every source's event (fields removed or
replaced, as a direct invoke can send them) get a clean answer, and SQS bodies that claim to be
queued webhooks are the edge's only when its signature verifies. Rate-limit headers
(`Retry-After`, `RateLimit-*`) are drawn from all a field value can carry, on 429s and answers.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checks.email_addresses import normalise_email
from intake.answers import Refusal
from local.stand_ins import signed_events
from local.stand_ins.lambda_events import (
    eventbridge_event,
    function_url_event,
    http_api_event,
    rest_api_event,
    sqs_event,
    sqs_record,
)
from tests import signing
from tests.wire_strategies import (
    EMAIL,
    Refused,
    base64_variants,
    held_to_policy,
    json_documents,
    json_object_documents,
    multipart_bodies,
    odd_shapes,
    queued_claims,
    rate_limit_values,
    receipt_attribute_values,
    reference_reading,
    retry_after_values,
)

DOCUMENTED = {202, 400, 401, 405, 409, 413, 415, 422, 503}
# Without a webhook secret or duplicate table, and with SQS up, nothing else is documented:
# a 503 here would mean SQS refused what the function sent.
DOCUMENTED_HERE = {202, 400, 405, 413, 415, 422}
MINIMO_PATH = re.compile(r"/public/v1/contacts/by-email/[A-Za-z0-9\-_.!~*'()%]+")
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
FUZZ_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    return max(1, round(count * FUZZ_SCALE))


HTTP_BUILDERS = {"v2": http_api_event, "v1": rest_api_event, "url": function_url_event}
# The recursive strategies' own repr is long; Hypothesis warns when it builds it for a report.
# Thousands of hypothesis examples through the handler: left out of `make test-fast`.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Generating overly large repr")]

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


@settings(FUZZ, max_examples=examples(150))
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


# --- the wire space: each source, the documented answer, strict JSON on the queue --------------


def assert_http_answer(stack, result: dict, expected: object = None) -> None:
    """A documented status; on 202 exactly one message (strict JSON: drain reads it so), its
    payload `expected` when given; otherwise nothing queued and an error body."""
    assert result["statusCode"] in DOCUMENTED_HERE
    answer = json.loads(result["body"])
    forwarded = drain(stack)
    if result["statusCode"] == 202:
        [message] = forwarded
        assert message["body"]["event_id"] == answer["event_id"]
        if expected is not None:
            assert message["body"]["payload"] == expected
    else:
        assert forwarded == []
        assert set(answer["error"]) == {"code", "message"}


@settings(FUZZ, max_examples=examples(400))
@given(document=json_documents, kind=st.sampled_from(sorted(HTTP_BUILDERS)), utf16=st.booleans())
def test_json_text_gets_the_answer_the_policy_gives(stack, invoke, document, kind, utf16):
    raw = document.encode("utf-16" if utf16 and kind == "v2" else "utf-8")
    result = invoke(HTTP_BUILDERS[kind](raw, content_type="application/json"))
    try:
        expected = reference_reading(document)
    except Refused:
        assert result["statusCode"] == 400, document
        assert_http_answer(stack, result)
        return
    assert result["statusCode"] == 202, document
    assert_http_answer(stack, result, expected)


@settings(FUZZ, max_examples=examples(400))
@given(multipart=multipart_bodies(), kind=st.sampled_from(sorted(HTTP_BUILDERS)))
def test_multipart_bodies_get_documented_answers(stack, invoke, multipart, kind):
    body, content_type = multipart
    build = HTTP_BUILDERS[kind]
    event = build(body, content_type=content_type, base64_encode=True)
    assert_http_answer(stack, invoke(event))


@settings(FUZZ, max_examples=examples(200))
@given(
    data=st.data(),
    raw=st.one_of(
        st.binary(max_size=200),
        json_documents.map(lambda d: d.encode()),
        multipart_bodies().map(lambda m: m[0]),
    ),
    content_type=st.sampled_from(
        ["application/json", "multipart/form-data; boundary=b", None, "application/octet-stream"]
    ),
)
def test_base64_variants_get_documented_answers(stack, invoke, data, raw, content_type):
    event = http_api_event(raw, content_type=content_type, base64_encode=True)
    event["body"] = data.draw(base64_variants(raw))
    result = invoke(event)
    if event["body"] != base64.b64encode(raw).decode():
        assert result["statusCode"] in (400, 413)  # API Gateway's own alphabet, padded, only
    assert_http_answer(stack, result)


def _good_records(count: int) -> list[dict]:
    return [sqs_record({"email": EMAIL, "submission_id": f"good-{i}"}) for i in range(count)]


@settings(FUZZ, max_examples=examples(150))
@given(
    poison=st.lists(
        st.one_of(json_documents, st.binary(max_size=80).map(lambda b: b.decode("latin-1"))),
        min_size=1,
        max_size=4,
    ),
    good=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_sqs_records_fail_alone_by_the_policy(stack, invoke, poison, good, seed):
    records = _good_records(good) + [sqs_record(text) for text in poison]
    random.Random(seed).shuffle(records)
    expected: dict[str, object] = {}  # message id → payload, for the records to forward
    refused = set()
    texts = {id(r): r["body"] for r in records}
    for record in records:
        try:
            expected[record["messageId"]] = reference_reading(texts[id(record)])
        except Refused:
            refused.add(record["messageId"])
    result = invoke({"Records": records})
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == refused
    forwarded = drain(stack)
    good_ids = {
        m["body"]["event_id"] for m in forwarded if m["body"]["event_id"].startswith("good-")
    }
    assert good_ids == {f"good-{i}" for i in range(good)}
    payloads = sorted(json.dumps(m["body"]["payload"], sort_keys=True) for m in forwarded)
    assert payloads == sorted(json.dumps(p, sort_keys=True) for p in expected.values())


def _python_parsed(document: str) -> object:
    """What the Lambda runtime hands over: Python's json reads NaN, Infinity and 1e400 as
    floats and keeps lone surrogates."""
    return json.loads(document)


@settings(FUZZ, max_examples=examples(250))
@given(document=json_object_documents, source=st.sampled_from(["eventbridge", "direct"]))
def test_eventbridge_and_direct_events_get_documented_answers(stack, invoke, document, source):
    try:
        parsed = _python_parsed(document)
    except ValueError:
        assume(False)  # the runtime would not have invoked the function with it
    assume(isinstance(parsed, dict) and not {"Records", "requestContext", "detail"} & set(parsed))
    event = eventbridge_event(parsed, event_id="fuzz-eb") if source == "eventbridge" else parsed
    try:
        expected = held_to_policy(parsed)
    except Refused:
        with pytest.raises(Refusal) as caught:
            invoke(event)
        assert (caught.value.status, caught.value.code) == (400, "bad_request")
        assert drain(stack) == []
        return
    answer = invoke(event)
    assert set(answer) == {"event_id", "status"}
    [message] = drain(stack)
    assert message["body"]["event_id"] == answer["event_id"]
    assert message["body"]["payload"] == expected


# --- rate-limit headers: whatever the API sends, nothing is lost and no wait is endless --------
RATE_LIMIT_HEADERS = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
rate_limit_headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": retry_after_values,
        "RateLimit-Limit": rate_limit_values,
        "RateLimit-Remaining": rate_limit_values,
        "RateLimit-Reset": rate_limit_values,
    },
)


def _fresh_container(stack, function_env) -> None:
    """A new container and a clean sandbox for each example: a pause one example's headers
    asked for must not hold the next example's request back."""
    from runtime import forget_current_runtime

    forget_current_runtime()
    stack.sales.reset()
    function_env(LOOKUP_MAX_ATTEMPTS="1")


def _sales_wait() -> float:
    from runtime import current_runtime

    return current_runtime().enricher.connections["sales"].known_wait()


@settings(FUZZ, max_examples=examples(120))
@given(headers=rate_limit_headers)
def test_a_429_with_any_rate_limit_headers_is_handed_back_for_at_most_15_minutes(
    stack, invoke, function_env, headers
):
    """The issue's malformed Retry-After (abc, 1.5, -1, empty, huge) and everything else a
    header can carry: the record waits in its queue, never forwarded partial, never lost, and
    the pacer holds the API for 15 minutes at most."""
    from lookups.pacing.rate_limit_headers import (
        DEFAULT_RATE_LIMIT_WAIT_SECONDS,
        retry_after_seconds,
    )

    _fresh_container(stack, function_env)
    stack.sales.add_faults([{"status": 429, "headers": headers}], email=EMAIL)
    event = sqs_event([{"email": EMAIL}])
    result = invoke(event, timeout=10)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert drain(stack) == []
    asked = retry_after_seconds(headers.get("Retry-After"))
    paused_for = DEFAULT_RATE_LIMIT_WAIT_SECONDS if asked is None else asked
    assert paused_for - 2 <= _sales_wait() <= 900  # malformed is the default wait, huge is 15 min


@settings(FUZZ, max_examples=examples(80))
@given(
    sent=st.one_of(st.just(None), receipt_attribute_values),
    receives=st.one_of(st.just(None), receipt_attribute_values),
)
def test_any_receipt_attributes_during_an_outage_wait_as_a_new_record_at_most(
    stack, invoke, function_env, function_logs, sent, receives
):
    """A missing or garbage SentTimestamp or ApproximateReceiveCount (None: absent) never
    crashes the batch: a receive count that is not a whole number (as SQS sends it) is the first
    receive, so the record waits at most a new record's first wait (10.6 s with the defaults);
    on what it says is its last receive it goes out partial. Nothing is lost either way."""
    function_env(LOOKUP_MAX_ATTEMPTS="1")
    stack.minimo.outage.start(30)
    try:
        record = sqs_record({"email": EMAIL})
        attributes = {"SentTimestamp": sent, "ApproximateReceiveCount": receives}
        record["attributes"] = {k: v for k, v in attributes.items() if v is not None}
        result = invoke({"Records": [record]}, timeout=10)
        forwarded = drain(stack)
    finally:
        stack.minimo.outage.end()
    whole = isinstance(receives, str) and receives.isascii() and receives.isdigit()
    count = max(1, int(receives)) if whole and len(receives) <= 15 else 1
    if count >= 5:  # INTAKE_MAX_RECEIVE_COUNT: out now, whatever the window says
        assert result == {"batchItemFailures": []}
    if result["batchItemFailures"]:
        assert forwarded == []
        lines = [json.loads(x) for x in function_logs().splitlines() if x.startswith("{")]
        line = [x for x in lines if "waiting_out_an_outage" in x][-1]
        assert line["receives"] == [count, count]
        if count == 1:
            assert line["next_try_in_s"][1] <= 10.6
    else:
        [message] = forwarded
        assert message["body"]["enrichment"]["status"] == "partial"


@settings(FUZZ, max_examples=examples(60))
@given(headers=rate_limit_headers)
def test_a_429_with_any_rate_limit_headers_is_rate_limit_exceeded_over_http(
    stack, invoke, function_env, headers
):
    _fresh_container(stack, function_env)
    stack.sales.add_faults([{"status": 429, "headers": headers}], email=EMAIL)
    result = invoke(http_api_event({"email": EMAIL}), timeout=10)
    assert json.loads(result["body"])["status"] == "partial"
    [message] = drain(stack)
    assert message["body"]["enrichment"]["sales"]["error"]["code"] == "rate_limit_exceeded"


@settings(FUZZ, max_examples=examples(120))
@given(headers=rate_limit_headers)
def test_an_answer_with_any_rate_limit_headers_is_used_and_holds_off_a_minute_at_most(
    stack, invoke, function_env, headers
):
    _fresh_container(stack, function_env)
    answer = {"data": [], "page_info": {"has_next_page": False, "next_page_url": None}}
    stack.sales.add_faults([{"status": 200, "headers": headers, "body": answer}], email=EMAIL)
    event = sqs_event([{"email": EMAIL}])
    assert invoke(event, timeout=10) == {"batchItemFailures": []}
    [message] = drain(stack)
    assert message["body"]["enrichment"]["sales"]["status"] == "not_found"
    assert _sales_wait() <= 60 + 0.1


# --- odd shapes of every source, and bodies that claim the queued schema -----------------------

ODD_BASES = {
    "http-v2": http_api_event({"email": EMAIL}),
    "http-v1": rest_api_event({"email": EMAIL}),
    "function-url": function_url_event({"email": EMAIL}),
    "sqs": sqs_event([{"email": EMAIL}, {"email": "other@example.com"}]),
    "eventbridge": eventbridge_event({"email": EMAIL}, event_id="odd-eb"),
}


@settings(FUZZ, max_examples=examples(300))
@given(data=st.data(), base=st.sampled_from(sorted(ODD_BASES)))
def test_odd_shapes_of_every_source_get_a_clean_answer(stack, invoke, data, base):
    """Never a KeyError or AttributeError: a documented answer, or a raised Refusal (400) for
    the sources whose answer to a refusal is an error."""
    from intake.event_sources import source_kind

    event = data.draw(odd_shapes(ODD_BASES[base]))
    kind = source_kind(event)
    refused: Refusal | None = None
    try:
        result = invoke(event)
    except Refusal as refusal:
        refused = refusal
    if refused is not None:
        assert kind != "http", "HTTP answers its refusals"
        assert (refused.status, refused.code) == (400, "bad_request"), refused.message
        assert drain(stack) == []
        return
    if kind == "http":
        assert result["statusCode"] in DOCUMENTED_HERE
        answer = json.loads(result["body"])
        assert set(answer) in ({"event_id", "status"}, {"error"})
    elif kind == "sqs":
        assert set(result) == {"batchItemFailures"}
        ids = {r["messageId"] for r in event["Records"]}
        assert {f["itemIdentifier"] for f in result["batchItemFailures"]} <= ids
    else:
        assert set(result) == {"event_id", "status"}
    drain(stack)


ODD_SIGNATURES = ["none", "valid", "made-up", "not-v1"]


@settings(FUZZ, max_examples=examples(200))
@given(claim=queued_claims(), signature=st.sampled_from(ODD_SIGNATURES))
def test_bodies_claiming_the_queued_schema_are_the_edges_only_when_signed(
    stack, invoke, claim, signature
):
    text = json.dumps(claim)
    record = sqs_record(text)
    value = {
        "none": None,
        "valid": signing.intake_signature(stack.intake_signing_key, text),
        "made-up": "v1=" + base64.b64encode(text.encode()[:32].ljust(32, b"x")).decode(),
        "not-v1": "sha256=" + "0" * 64,
    }[signature]
    if value is not None:
        record["messageAttributes"] = {
            "intake_signature": {"stringValue": value, "dataType": "String"}
        }
    result = invoke({"Records": [record]})
    failed = bool(result["batchItemFailures"])
    forwarded = drain(stack)
    ordinary = {"kind": "sqs", "queue": "webhook-intake"}
    if signature == "valid":  # the edge's own: forwarded as it says, or refused if malformed
        assert [m["body"]["source"] for m in forwarded] in ([claim.get("source")], [])
        assert failed == (forwarded == [])
    elif signature == "made-up":  # a signature no key verifies: never forwarded
        assert failed
        assert forwarded == []
    else:  # unsigned: an ordinary submission of its queue, whatever it claims
        assert all(m["body"]["source"] == ordinary for m in forwarded)
        assert failed == (forwarded == [])
