"""Events that only look like a source's (a direct invoke can send anything) get a clean
refusal, never a KeyError or AttributeError: HTTP answers 400, the other sources raise a Refusal
(400), which Lambda reports as the invocation's error. Nothing is looked up or forwarded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from intake.answers import Refusal
from local.stand_ins.lambda_events import (
    eventbridge_event,
    function_url_event,
    http_api_event,
    rest_api_event,
    sqs_event,
)

EMAIL = "customer@example.com"


def changed(event: dict, change: Callable[[dict], Any]) -> dict:
    event = json.loads(json.dumps(event))
    change(event)
    return event


def assert_nothing_happened(stack) -> None:
    assert stack.receive_all() == []
    assert stack.minimo.requests() == []


def assert_refused_and_nothing_happened(stack, invoke, event: dict) -> None:
    """The whole event is refused as a bad request, before any lookup or message."""
    with pytest.raises(Refusal) as caught:
        invoke(event)
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
    assert_nothing_happened(stack)


EVENTBRIDGE = eventbridge_event({"email": EMAIL}, event_id="eb-1")


ODD_EVENTBRIDGE = {
    "no-id": lambda e: e.pop("id"),
    "empty-id": lambda e: e.update(id=""),
    "numeric-id": lambda e: e.update(id=1234),
    "numeric-time": lambda e: e.update(time=1795860001),  # a number, not a timestamp
    "time-in-words": lambda e: e.update(time="yesterday"),
    # The shape of a moment, not one:
    "no-such-day": lambda e: e.update(time="2026-02-30T10:00:00Z"),
    "object-source": lambda e: e.update(source={"name": "forms"}),
    "null-detail-type": lambda e: e.update({"detail-type": None}),
}


@pytest.mark.parametrize("change", ODD_EVENTBRIDGE.values(), ids=ODD_EVENTBRIDGE.keys())
def test_an_odd_eventbridge_event_is_refused(stack, invoke, change):
    assert_refused_and_nothing_happened(stack, invoke, changed(EVENTBRIDGE, change))


def test_eventbridge_time_in_any_rfc_3339_form_is_kept_in_utc(stack, invoke):
    times = (
        "2026-11-28T10:00:01Z",
        "2026-11-28T11:00:02.123+01:00",
        "2026-11-28T04:30:03-05:30",
        "2026-11-28T10:00:04.123456789Z",
    )
    for time in times:
        assert invoke(changed(EVENTBRIDGE, lambda e, t=time: e.update(time=t)))
    received = sorted(m["body"]["received_at"] for m in stack.receive_all())
    assert received == [
        "2026-11-28T10:00:01Z",
        "2026-11-28T10:00:02.123Z",
        "2026-11-28T10:00:03Z",
        "2026-11-28T10:00:04.123Z",
    ]


HTTP = http_api_event({"email": EMAIL})


ODD_HTTP = {
    "v2-no-method": (http_api_event, lambda e: e["requestContext"]["http"].pop("method")),
    "v2-http-not-an-object": (http_api_event, lambda e: e["requestContext"].update(http="POST")),
    "v2-no-path": (http_api_event, lambda e: e.pop("rawPath")),
    "v2-no-stage": (http_api_event, lambda e: e["requestContext"].pop("stage")),
    "headers-a-list": (
        http_api_event,
        lambda e: e.update(headers=["content-type", "application/json"]),
    ),
    "header-a-number": (http_api_event, lambda e: e["headers"].update({"content-type": 7})),
    "body-an-object": (http_api_event, lambda e: e.update(body={"email": EMAIL})),
    "base64-flag-text": (http_api_event, lambda e: e.update(isBase64Encoded="no")),
    "provider-a-number": (http_api_event, lambda e: e.update(pathParameters={"provider": 5})),
    "v1-null-method": (rest_api_event, lambda e: e.update(httpMethod=None)),
    "v1-no-path": (rest_api_event, lambda e: e.update(path=None)),
    "url-empty-method": (
        function_url_event,
        lambda e: e["requestContext"]["http"].update(method=""),
    ),
}


@pytest.mark.parametrize(("build", "change"), ODD_HTTP.values(), ids=ODD_HTTP.keys())
def test_an_odd_http_event_is_answered_400(stack, invoke, build, change):
    result = invoke(changed(build({"email": EMAIL}), change))
    assert result["statusCode"] == 400
    error = json.loads(result["body"])["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith("the request event is malformed")
    assert_nothing_happened(stack)


@pytest.mark.parametrize("epoch", [10**20, -5, 1e300])
def test_a_request_time_out_of_any_calendar_is_replaced_by_now(stack, invoke, epoch):
    event = changed(HTTP, lambda e: e["requestContext"].update(timeEpoch=epoch))
    assert invoke(event)["statusCode"] == 202
    [message] = stack.receive_all()
    assert message["body"]["received_at"].startswith("20")


SQS = sqs_event([{"email": EMAIL}, {"email": "other@example.com"}])


ODD_SQS = {
    "text-record": lambda e: e["Records"].append("a record"),
    "no-message-id": lambda e: e["Records"][0].pop("messageId"),
    "empty-message-id": lambda e: e["Records"][0].update(messageId=""),
    "body-an-object": lambda e: e["Records"][0].update(body={"email": EMAIL}),
    "no-source-arn": lambda e: e["Records"][1].pop("eventSourceARN"),
    "mixed-sources": lambda e: e["Records"][1].update(eventSource="aws:sns"),
    "attributes-text": lambda e: e["Records"][0].update(attributes="none"),
    "message-id-twice": lambda e: e["Records"][1].update(messageId=e["Records"][0]["messageId"]),
}


@pytest.mark.parametrize("change", ODD_SQS.values(), ids=ODD_SQS.keys())
def test_an_odd_sqs_batch_is_refused_whole(stack, invoke, change):
    assert_refused_and_nothing_happened(stack, invoke, changed(SQS, change))


@pytest.mark.parametrize("event", [["a", "list"], "text", 42, None])
def test_a_direct_invoke_that_is_not_an_object_is_refused(stack, invoke, event):
    with pytest.raises(Refusal):
        invoke(event)
    assert_nothing_happened(stack)
