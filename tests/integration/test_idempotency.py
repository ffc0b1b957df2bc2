"""Duplicate deliveries with IDEMPOTENCY_TABLE set (Powertools idempotency on moto's DynamoDB)."""

from __future__ import annotations

import json

import pytest

from checks.delivery import Delivery
from forwarding.ledger import DeliveryLedger
from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_event, sqs_record


@pytest.fixture
def ledger_env(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)


def post(invoke, webhook_id: str, email: str = "customer@example.com") -> tuple[int, dict]:
    event = http_api_event({"email": email}, headers={"webhook-id": webhook_id})
    result = invoke(event)
    return result["statusCode"], json.loads(result["body"])


def posted(event_id: str, email: str = "customer@example.com") -> Delivery:
    """The delivery that post() makes: the same route, id and content."""
    source = {"kind": "http", "route": "/webhooks/website", "provider": "website"}
    return Delivery(event_id, source, {"email": email}, None, "2026-11-22T10:00:00.000Z")


def hold(stack, delivery: Delivery) -> None:
    """Another invocation is forwarding this delivery right now."""
    ledger = DeliveryLedger(stack.table_name, max_concurrency=1)
    assert ledger.claim([delivery], remaining_ms=60_000).fresh == [delivery]


def test_a_repeated_delivery_gets_the_first_answer_and_sends_nothing(stack, invoke, ledger_env):
    first = post(invoke, "msg_1")
    assert first == (202, {"event_id": "msg_1", "status": "enriched"})
    calls = len(stack.minimo.requests())
    assert post(invoke, "msg_1") == first
    assert len(stack.receive_all()) == 1
    assert len(stack.minimo.requests()) == calls  # not even looked up again


def test_different_deliveries_are_all_forwarded(stack, invoke, ledger_env):
    post(invoke, "msg_1")
    post(invoke, "msg_2")
    assert len(stack.receive_all()) == 2


def test_a_delivery_that_failed_can_be_retried(stack, invoke, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name, OUTPUT_QUEUE_URL=stack.queue_url + "-gone")
    assert post(invoke, "msg_1")[0] == 503
    function_env(IDEMPOTENCY_TABLE=stack.table_name)
    assert post(invoke, "msg_1") == (202, {"event_id": "msg_1", "status": "enriched"})
    assert len(stack.receive_all()) == 1


def test_an_in_flight_duplicate_is_told_to_retry(stack, invoke, ledger_env):
    hold(stack, posted("msg_1"))
    result = invoke(
        http_api_event({"email": "customer@example.com"}, headers={"webhook-id": "msg_1"})
    )
    assert result["statusCode"] == 409
    assert result["headers"]["retry-after"] == "5"
    assert json.loads(result["body"])["error"]["code"] == "in_progress"
    assert stack.receive_all() == []


def test_an_abandoned_claim_expires_with_its_invocation(stack, invoke, ledger_env):
    ledger = DeliveryLedger(stack.table_name, max_concurrency=1)
    assert ledger.claim([posted("msg_1")], remaining_ms=0).fresh  # that invocation timed out
    assert post(invoke, "msg_1")[0] == 202


def test_sqs_batch_skips_delivered_records_and_retries_in_flight_ones(stack, invoke, ledger_env):
    def record(webhook_id: str) -> dict:
        return sqs_record({"webhook_id": webhook_id, "email": "customer@example.com"})

    assert invoke({"Records": [record("wh-done")]}) == {"batchItemFailures": []}
    stack.receive_all()
    busy = record("wh-busy")
    queue = busy["eventSourceARN"].rsplit(":", 1)[-1]
    hold(
        stack,
        Delivery("wh-busy", {"kind": "sqs", "queue": queue}, json.loads(busy["body"]), None, ""),
    )
    records = [record("wh-done"), busy, record("wh-new")]
    result = invoke({"Records": records})
    assert result == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    [message] = stack.receive_all()
    assert message["body"]["event_id"] == "wh-new"


def test_sqs_redelivery_of_a_forwarded_batch_sends_nothing(stack, invoke, ledger_env, capfd):
    event = sqs_event([{"email": "customer@example.com", "n": n} for n in range(5)])
    assert invoke(event) == {"batchItemFailures": []}
    capfd.readouterr()
    assert invoke(event) == {"batchItemFailures": []}
    assert '"DuplicateDeliveries":[5.0]' in capfd.readouterr().out
    assert len(stack.receive_all()) == 5


def test_eventbridge_duplicate(stack, invoke, ledger_env):
    event = eventbridge_event({"email": "customer@example.com"}, event_id="eb-1")
    assert invoke(event) == invoke(event) == {"event_id": "eb-1", "status": "enriched"}
    assert len(stack.receive_all()) == 1


def test_a_broken_store_never_blocks_forwarding(stack, invoke, function_env):
    function_env(IDEMPOTENCY_TABLE="no-such-table")
    assert post(invoke, "msg_1")[0] == 202
    assert len(stack.receive_all()) == 1
