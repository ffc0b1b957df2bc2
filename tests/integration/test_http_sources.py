"""Every HTTP source and body type through the real handler, the sandbox APIs and moto's SQS."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from local.stand_ins.lambda_events import function_url_event, http_api_event, rest_api_event
from tests.handler_results import answer

EVENTS = Path(__file__).parents[2] / "events"


def only_message(stack) -> dict:
    [message] = stack.receive_all()
    return message


@pytest.mark.parametrize(
    "build",
    [http_api_event, rest_api_event, function_url_event],
    ids=["http-api-v2", "rest-api-v1", "function-url"],
)
def test_each_http_source_is_enriched_and_forwarded(stack, invoke, build):
    event = build({"email": "customer@example.com", "name": "Carla"}, provider="typeform")
    status, body = answer(invoke(event))
    assert status == 202
    assert body["status"] == "enriched"

    message = only_message(stack)
    enriched = message["body"]
    assert enriched["event_id"] == body["event_id"]
    assert enriched["source"] == {
        "kind": "http",
        "route": "/webhooks/typeform",
        "provider": "typeform",
    }
    assert enriched["payload"] == {"email": "customer@example.com", "name": "Carla"}
    assert enriched["enrichment"]["contact_id"] == 42
    assert enriched["enrichment"]["relationship"] == "customer"
    assert enriched["enrichment"]["minimo"]["contact"]["custom_fields"]["plan"] == "enterprise"
    assert message["attributes"] == {
        "event_id": body["event_id"],
        "enrichment_status": "enriched",
        "relationship": "customer",
        "source_kind": "http",
    }


@pytest.mark.parametrize(
    ("body", "content_type", "base64_encode"),
    [
        (b'{"email": "supplier@partner.example"}', "application/json", False),
        (b'{"email": "supplier@partner.example"}', "application/json", True),
        (b"email=supplier%40partner.example&name=Sam", "application/x-www-form-urlencoded", False),
        (b"email=supplier%40partner.example&name=Sam", "application/x-www-form-urlencoded", True),
        (
            b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
            b"supplier@partner.example\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
            True,
        ),
    ],
    ids=["json", "json-base64", "form", "form-base64", "multipart"],
)
def test_each_body_type(stack, invoke, body, content_type, base64_encode):
    event = http_api_event(body, content_type=content_type, base64_encode=base64_encode)
    status, _ = answer(invoke(event))
    assert status == 202
    enriched = only_message(stack)["body"]
    assert enriched["email"] == "supplier@partner.example"
    assert enriched["enrichment"]["relationship"] == "supplier"
    assert enriched["enrichment"]["contact_id"] == 44


def test_direct_invoke(stack, invoke):
    result = invoke({"event_id": "crm-1", "email": "sales.only@example.org"})
    assert result == {"event_id": "crm-1", "status": "enriched"}
    enriched = only_message(stack)["body"]
    assert enriched["source"] == {"kind": "direct"}
    assert enriched["enrichment"]["contact_id"] is None
    assert enriched["enrichment"]["minimo"]["status"] == "not_found"
    assert enriched["enrichment"]["relationship"] == "customer"


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (http_api_event(b'{"email": ', content_type="application/json"), 400, "bad_request"),
        (http_api_event(b"not base64!", base64_encode=True), 400, "bad_request"),
        (http_api_event(b"<x/>", content_type="application/xml"), 415, "unsupported_media_type"),
        (http_api_event({"email": "a@x.io"}, method="GET"), 405, "method_not_allowed"),
        (http_api_event({"note": "x" * 300_000}), 413, "payload_too_large"),
    ],
    ids=["invalid-json", "invalid-base64", "xml", "get", "too-large"],
)
def test_refusals_forward_nothing(stack, invoke, event, status, code):
    got_status, body = answer(invoke(event))
    assert (got_status, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
    assert stack.receive_all() == []
    assert stack.minimo.requests() == []


def test_body_size_limit_counts_decoded_bytes(stack, invoke, function_env):
    function_env(MAX_BODY_BYTES="2048")
    payload = {"email": "customer@example.com", "pad": "x" * 1900}
    assert answer(invoke(http_api_event(payload, base64_encode=True)))[0] == 202
    payload["pad"] = "x" * 2100
    assert answer(invoke(http_api_event(payload, base64_encode=True)))[0] == 413


def test_no_email_is_forwarded_unless_required(stack, invoke, function_env):
    status, body = answer(invoke(http_api_event({"name": "Anonymous"})))
    assert (status, body["status"]) == (202, "no_email")
    enrichment = only_message(stack)["body"]["enrichment"]
    assert enrichment["minimo"]["status"] == enrichment["sales"]["status"] == "skipped"
    assert stack.minimo.requests() == stack.sales.requests() == []

    function_env(REQUIRE_EMAIL="true")
    status, body = answer(invoke(http_api_event({"name": "Anonymous"})))
    assert (status, body["error"]["code"]) == (422, "no_email")
    assert stack.receive_all() == []


def test_fifo_queue_groups_by_hashed_email_and_dedups_by_delivery(stack, invoke, function_env):

    function_env(OUTPUT_QUEUE_URL=stack.fifo_queue_url)
    body = {"email": "customer@example.com"}
    event = http_api_event(body, headers={"webhook-id": "msg_1"})
    assert answer(invoke(event)) == (202, {"event_id": "msg_1", "status": "enriched"})
    assert answer(invoke(event))[0] == 202  # the sender retried: SQS drops the duplicate
    [message] = stack.receive_all(stack.fifo_queue_url)
    assert message["system"]["MessageDeduplicationId"] == "msg_1"  # the event_id
    group = message["system"]["MessageGroupId"]
    assert len(group) == 64
    assert "customer" not in group


def test_queue_unavailable_answers_503(stack, invoke, function_env):
    function_env(OUTPUT_QUEUE_URL=stack.queue_url.replace("enriched-events", "no-such-queue"))
    status, body = answer(invoke(http_api_event({"email": "customer@example.com"})))
    assert (status, body["error"]["code"]) == (503, "unavailable")


def test_direct_invoke_raises_when_the_queue_is_unavailable(stack, invoke, function_env):
    function_env(OUTPUT_QUEUE_URL=stack.queue_url.replace("enriched-events", "no-such-queue"))
    with pytest.raises(Exception, match="could not be queued"):
        invoke({"email": "customer@example.com"})


def test_same_delivery_gets_the_same_event_id(stack, invoke):
    payload = {"email": "customer@example.com", "submitted_at": "2026-11-22T10:00:00Z"}
    first = answer(invoke(http_api_event(payload)))[1]["event_id"]
    again = answer(invoke(http_api_event(json.dumps(payload, indent=4))))[1]["event_id"]
    other = answer(invoke(http_api_event({**payload, "submitted_at": "later"})))[1]["event_id"]
    assert first == again != other


def test_received_at_is_when_api_gateway_received_it(stack, invoke):
    event = http_api_event({"email": "customer@example.com"})
    event["requestContext"]["timeEpoch"] = 1795860000123
    invoke(event)
    assert only_message(stack)["body"]["received_at"] == "2026-11-28T10:00:00.123Z"


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_every_sample_event_gets_an_answer(stack, invoke, path):
    event = json.loads(path.read_text())
    result = invoke(event)
    if "statusCode" in result:
        assert result["statusCode"] in (202, 400, 415)
        forwarded = 1 if result["statusCode"] == 202 else 0
    elif "batchItemFailures" in result:
        assert result["batchItemFailures"] == []
        forwarded = len(event["Records"])
    else:
        assert result["status"] in ("enriched", "not_found", "partial", "no_email")
        forwarded = 1
    assert len(stack.receive_all()) == forwarded


def test_base64_body_is_decoded_to_the_bytes_signed(stack, invoke):
    raw = b"email=caf%C3%A9%40example.com&city=Z%C3%BCrich"
    event = http_api_event(raw, content_type="application/x-www-form-urlencoded")
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True
    assert answer(invoke(event))[0] == 202
    assert only_message(stack)["body"]["payload"] == {"email": "café@example.com", "city": "Zürich"}
