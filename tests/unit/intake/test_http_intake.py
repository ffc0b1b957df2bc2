"""The HTTP intake (intake/http.py) called with the container's real parts on the local stack:
it decides each answer's status. 202 with the event's id and status once it is on the queue;
the refusal's own status for a request it refuses; 409 for an id reused or a delivery in
flight; 503 when the queue refuses, so that the sender retries; in queued mode, 202 `queued`
with the webhook on the intake queue."""

from __future__ import annotations

import pytest

from intake import http
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import http_api_event
from runtime import current_runtime
from tests.conftest import missing_queue_url
from tests.handler_results import answer


def handle(event: dict) -> tuple[int, dict]:
    return answer(http.handle(event, LambdaContextStub(), current_runtime().http_intake))


def test_an_accepted_webhook_is_answered_202_once_it_is_on_the_queue(stack, function_env):
    status, body = handle(http_api_event({"event_id": "w-1", "email": "customer@example.com"}))
    assert (status, body) == (202, {"event_id": "w-1", "status": "enriched"})
    [message] = stack.receive_all()
    assert message["body"]["source"]["kind"] == "http"


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (http_api_event("{not json"), 400),
        (http_api_event(b"\x00\x01", content_type="application/octet-stream"), 415),
    ],
)
def test_a_refused_request_gets_its_status_and_nothing_is_queued(
    stack, function_env, event, status
):
    code, body = handle(event)
    assert code == status
    assert set(body) >= {"error"}
    assert stack.receive_all() == []


def test_an_id_reused_for_other_content_is_409_for_good(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)
    assert handle(http_api_event({"event_id": "w-1", "email": "customer@example.com"}))[0] == 202
    status, body = handle(http_api_event({"event_id": "w-1", "email": "nobody@example.net"}))
    assert (status, body["error"]["code"]) == (409, "id_reused")
    assert len(stack.receive_all()) == 1


def test_a_webhook_delivered_again_is_answered_as_the_first_and_sent_once(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)
    event = http_api_event({"event_id": "w-1", "email": "customer@example.com"})
    assert handle(event) == handle(event) == (202, {"event_id": "w-1", "status": "enriched"})
    assert len(stack.receive_all()) == 1


def test_a_queue_that_refuses_is_503_so_that_the_sender_retries(stack, function_env):
    function_env(OUTPUT_QUEUE_URL=missing_queue_url(stack))
    status, body = handle(http_api_event({"email": "customer@example.com"}))
    assert (status, body["error"]["code"]) == (503, "unavailable")


def test_in_queued_mode_the_webhook_waits_on_the_intake_queue(stack, function_env):
    function_env(INTAKE_QUEUE_URL=stack.intake_queue_url)
    status, body = handle(http_api_event({"event_id": "w-1", "email": "customer@example.com"}))
    assert (status, body) == (202, {"event_id": "w-1", "status": "queued"})
    assert stack.receive_all() == []  # not enriched yet
    assert len(stack.receive_all(stack.intake_queue_url)) == 1
    assert stack.minimo.requests() == []
