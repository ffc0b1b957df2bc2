"""SQS records, EventBridge and direct events, fuzzed: good records are forwarded and poison ones
fail alone; odd shapes of every source's event (fields removed or replaced, as a direct invoke
can send them) get a clean answer; SQS bodies that claim to be queued webhooks are the edge's only
when its signature verifies."""

from __future__ import annotations

import base64
import json
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from intake.answers import Refusal
from local.stand_ins.lambda_events import eventbridge_event, sqs_event, sqs_record
from tests import signing
from tests.integration.fuzzing.documented_answers import DOCUMENTED_HERE, HTTP_BUILDERS, drain
from tests.integration.fuzzing.event_shape_strategies import odd_shapes, queued_claims
from tests.integration.fuzzing.fuzz_budget import FUZZ, FUZZ_MARKS, examples
from tests.integration.fuzzing.json_text_strategies import (
    EMAIL,
    Refused,
    held_to_policy,
    json_documents,
    json_object_documents,
    reference_reading,
)
from tests.integration.fuzzing.request_strategies import bodies, json_values

pytestmark = FUZZ_MARKS


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


ODD_BASES = {
    **{f"http-{kind}": build({"email": EMAIL}) for kind, build in HTTP_BUILDERS.items()},
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
