"""Inputs that are valid on the wire and used to crash the handler, through the real handler:
each gets its documented answer, every message sent is strict JSON (stack.receive_all reads the
output queue with local/stand_ins/strict_json_reader.py), and one bad record never holds back a
batch."""

from __future__ import annotations

import json
import math

import pytest
from botocore.exceptions import ClientError

from checks.delivery import Delivery
from forwarding.outcomes import OutcomeCode
from forwarding.pipeline import enrich_and_forward
from intake.answers import Refusal
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import (
    eventbridge_event,
    function_url_event,
    http_api_event,
    rest_api_event,
    sqs_event,
    sqs_record,
)
from platform_services.deadlines import Deadline
from runtime import current_runtime
from tests.handler_results import answer

EMAIL = "customer@example.com"
GOOD = [{"email": EMAIL, "submission_id": f"good-{i}"} for i in range(9)]
GOOD_IDS = sorted(record["submission_id"] for record in GOOD)


def failed_ids(result: dict) -> list[str]:
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


# --- lone surrogates: refused (docs/security.md: "What a submission may hold") ------------


@pytest.mark.parametrize("build", [http_api_event, rest_api_event, function_url_event])
@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "customer@example.com", "note": "half an emoji \\ud83d"}',
        b'{"email": "customer@example.com", "\\udfff": 1}',
    ],
    ids=["value", "key"],
)
def test_a_lone_surrogate_escape_is_refused_with_a_clear_message(stack, invoke, build, body):
    status, reply = answer(invoke(build(body)))
    assert (status, reply["error"]["code"]) == (400, "bad_request")
    assert "lone surrogate" in reply["error"]["message"]
    assert stack.receive_all() == []


def test_a_lone_surrogate_record_fails_alone_and_nine_are_forwarded(stack, invoke):
    poison = '{"email": "customer@example.com", "submission_id": "poison", "note": "\\ud800"}'
    event = sqs_event([*GOOD[:5], poison, *GOOD[5:]])
    assert failed_ids(invoke(event)) == [event["Records"][5]["messageId"]]
    forwarded = sorted(m["body"]["event_id"] for m in stack.receive_all())
    assert forwarded == GOOD_IDS


def test_surrogates_in_headers_and_path_are_refused_like_the_body(stack, invoke):
    for event in (
        http_api_event({"email": EMAIL}, provider="site\udc80"),
        http_api_event({"email": EMAIL}, headers={"webhook-id": "delivery-\ud800"}),
    ):
        status, reply = answer(invoke(event))
        assert (status, reply["error"]["code"]) == (400, "bad_request")
    assert stack.receive_all() == []


def test_form_percent_escapes_that_are_not_utf8_become_replacement_characters(stack, invoke):
    body = b"email=customer%40example.com&note=%ED%A0%80%FF"  # an encoded surrogate, a stray byte
    event = http_api_event(body, content_type="application/x-www-form-urlencoded")
    assert answer(invoke(event))[0] == 202
    [message] = stack.receive_all()
    assert set(message["body"]["payload"]["note"]) == {"\ufffd"}


# --- one bad record fails alone: 9 forwarded + 1 reported ---------------------------------------


@pytest.mark.parametrize(
    "poison",
    [
        '{"email": "customer@example.com", "n": 1e400}',
        '{"email": "customer@example.com", "n": -Infinity}',
        '{"email": "customer@example.com", "n": NaN}',
        "[" * 65 + "]" * 65,
        '{"email": "customer@example.com", "note": "\xed\xa0"',
    ],
    ids=["1e400", "-Infinity", "NaN", "nested-too-deep", "not-json"],
)
def test_one_refused_record_fails_alone_and_nine_are_forwarded(stack, invoke, poison):
    event = sqs_event([*GOOD[:4], poison, *GOOD[4:]])
    result = invoke(event)
    assert failed_ids(result) == [event["Records"][4]["messageId"]]
    forwarded = sorted(m["body"]["event_id"] for m in stack.receive_all())
    assert forwarded == GOOD_IDS


def test_a_record_nothing_foresaw_fails_alone_and_is_logged_without_its_payload(
    stack, invoke, function_logs, monkeypatch
):
    """A bug one payload meets, here in the email finder (a malformed SentTimestamp used to be
    such an input; it is now read as absent: queue_receipts.py)."""
    from checks.email_extraction import EmailFinder

    find = EmailFinder.find

    def find_with_a_bug(self, payload):
        if isinstance(payload, dict) and payload.get("submission_id") == "odd":
            raise ValueError(f"not a number: {payload}")
        return find(self, payload)

    monkeypatch.setattr(EmailFinder, "find", find_with_a_bug)
    odd = sqs_record({"email": "odd.one@example.org", "submission_id": "odd"})
    event = sqs_event(GOOD)
    event["Records"].insert(3, odd)
    result = invoke(event)
    assert failed_ids(result) == [odd["messageId"]]
    assert sorted(m["body"]["event_id"] for m in stack.receive_all()) == GOOD_IDS
    logs = function_logs()
    assert "records could not be read" in logs
    assert '"error_type":"ValueError"' in logs
    assert '"raised_at":"integration/test_poison_inputs.py:' in logs
    assert "odd.one" not in logs
    assert "not a number" not in logs


def test_an_event_that_cannot_be_serialised_fails_alone(stack, function_env):
    """Intake holds every source to the policy, so only a defect gets here; it still fails alone."""

    def delivery(event_id: str, payload: dict) -> Delivery:
        return Delivery(event_id, {"kind": "direct"}, payload, None, "2026-11-24T10:00:00.000Z")

    deliveries = [delivery(f"ok-{i}", {"n": i}) for i in range(3)]
    deliveries.insert(1, delivery("defect", {"n": math.nan}))
    deadline = Deadline.for_lookups(LambdaContextStub(timeout_seconds=30))
    outcomes = enrich_and_forward(deliveries, current_runtime().forwarding, deadline)
    assert [(o.event_id, o.failure) for o in outcomes] == [
        ("ok-0", None),
        ("defect", OutcomeCode.NOT_SERIALISABLE),
        ("ok-1", None),
        ("ok-2", None),
    ]
    assert sorted(m["body"]["event_id"] for m in stack.receive_all()) == ["ok-0", "ok-1", "ok-2"]


# --- numbers beyond a double: refused, never forwarded as Infinity ------------------------------


@pytest.mark.parametrize("number", ["1e400", "-1e400", "2e308"])
def test_a_number_beyond_a_double_is_refused_over_http(stack, invoke, number):
    status, reply = answer(invoke(http_api_event(f'{{"email": "{EMAIL}", "n": {number}}}')))
    assert (status, reply["error"]["code"]) == (400, "bad_request")
    assert "beyond the range of a double" in reply["error"]["message"]
    assert stack.receive_all() == []


def test_tiny_numbers_and_big_integers_are_forwarded_as_read(stack, invoke):
    body = f'{{"email": "{EMAIL}", "tiny": 1e-400, "big": 123456789012345678901234567890}}'
    assert answer(invoke(http_api_event(body)))[0] == 202
    [message] = stack.receive_all()
    assert message["body"]["payload"]["tiny"] == 0.0
    assert message["body"]["payload"]["big"] == 123456789012345678901234567890


# --- EventBridge and direct invokes: the runtime has parsed them with Python's json -------------


def test_eventbridge_and_direct_events_are_held_to_the_same_policy(stack, invoke):
    # Python's json, as the Lambda runtime uses it, reads `\ud800` as a lone surrogate and
    # 1e400, Infinity and NaN as floats no strict parser would accept.
    for text in (
        '{"note": "\\ud800"}',
        '{"n": 1e400}',
        '{"n": Infinity}',
        '{"n": NaN}',
        '{"a": ' * 70 + "1" + "}" * 70,
    ):
        poison = {"email": EMAIL, "poison": json.loads(text)}
        with pytest.raises(Refusal) as caught:
            invoke(eventbridge_event(poison))
        assert caught.value.status == 400
        with pytest.raises(Refusal):
            invoke(poison)
    assert stack.receive_all() == []
    # Each raised for its own event only: the next one goes through.
    assert invoke(eventbridge_event({"email": EMAIL}, event_id="eb-2"))["event_id"] == "eb-2"
    assert len(stack.receive_all()) == 1


# --- multipart: a part with its own JSON type, and UTF-8 by default ------------------------------


def test_a_multipart_json_part_and_a_utf8_part_without_charset(stack, invoke):
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="name"\r\n\r\n'
        "José Müller\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="data"\r\n'
        "Content-Type: application/json\r\n\r\n"
        f'{{"contact": {{"email": "{EMAIL}"}}}}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    event = http_api_event(body, content_type=f"multipart/form-data; boundary={boundary}")
    status, reply = answer(invoke(event))
    assert (status, reply["status"]) == (202, "enriched")
    [message] = stack.receive_all()
    assert message["body"]["payload"] == {
        "name": "José Müller",
        "data": {"contact": {"email": EMAIL}},
    }
    assert message["body"]["enrichment"]["email_path"] == "data.contact.email"


def test_a_malformed_multipart_body_is_refused_with_400(stack, invoke):
    body = (
        b'--b\r\nContent-Disposition: form-data; name="email"\r\n' + EMAIL.encode() + b"\r\n--b--"
    )
    event = http_api_event(body, content_type="multipart/form-data; boundary=b")
    status, reply = answer(invoke(event))
    assert (status, reply["error"]["code"]) == (400, "bad_request")
    assert stack.receive_all() == []


# --- SQS's character set ------------------------------------------------------------------------

REFUSED_BY_SQS = {"nonchars": "\ufffe\uffff", "controls": "\x00\x01\x08\x0b\x0c\x0e\x1f"}


@pytest.mark.parametrize("source", ["http", "sqs", "eventbridge", "direct"])
def test_characters_sqs_refuses_are_escaped_and_arrive_intact(stack, invoke, source):
    payload = {"email": EMAIL, **REFUSED_BY_SQS, "fine": "\t\n\r é \U0001f600", "\uffff": "key"}
    event = {
        "http": lambda: http_api_event(payload),
        "sqs": lambda: sqs_event([payload]),
        "eventbridge": lambda: eventbridge_event(payload),
        "direct": lambda: dict(payload),
    }[source]()
    result = invoke(event)
    if source == "http":
        assert result["statusCode"] == 202
    elif source == "sqs":
        assert result == {"batchItemFailures": []}
    [message] = stack.receive_all()
    assert message["body"]["payload"] == payload  # lossless: \ufffe in the body is U+FFFE again


def test_the_local_queue_refuses_what_real_sqs_refuses(stack):
    sqs = stack.client("sqs")
    url = stack.intake_queue_url  # any queue; this one is read without the strict JSON check
    for text in ("\ufffe", "\uffff", "\x00", "a\x08b", "\x1f", "\ud800"):
        with pytest.raises(ClientError) as caught:
            sqs.send_message(QueueUrl=url, MessageBody=text)
        assert caught.value.response["Error"]["Code"] == "InvalidMessageContents"
    bad_attribute = {"a": {"DataType": "String", "StringValue": "x\x00"}}
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="ok", MessageAttributes=bad_attribute)
    fine = "\t\n\r \ud7ff\ue000\ufffd\U00010000\U0010ffff"
    sqs.send_message(QueueUrl=url, MessageBody=fine)
    reply = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok1", "MessageBody": "one"},
            {"Id": "body", "MessageBody": "bad \uffff"},
            {"Id": "attr", "MessageBody": "ok", "MessageAttributes": bad_attribute},
            {"Id": "ok2", "MessageBody": "two"},
        ],
    )
    assert sorted(s["Id"] for s in reply["Successful"]) == ["ok1", "ok2"]
    assert {(f["Id"], f["Code"], f["SenderFault"]) for f in reply["Failed"]} == {
        ("body", "InvalidMessageContents", True),
        ("attr", "InvalidMessageContents", True),
    }
    assert sorted(m["body"] for m in stack.receive_all(url)) == sorted([fine, "one", "two"])
