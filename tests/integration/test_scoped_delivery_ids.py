"""Delivery ids are the sender's: the same id from two senders is two deliveries, and the same id
from one sender with other content is a conflict, never a duplicate dropped in silence.

Through the real handler, with the idempotency table on (Powertools on moto's DynamoDB).
"""

from __future__ import annotations

import pytest

from intake.outcome_answers import ForwardingFailed
from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_record
from tests import signing
from tests.handler_results import answer

SECRET = "whsec_" + "c2lnbmluZyBzZWNyZXQgZm9yIHRlc3Rz"


@pytest.fixture
def ledger_env(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)


def test_the_same_submission_id_on_two_routes_is_two_deliveries(stack, invoke, ledger_env):
    site_a = http_api_event(
        {"submission_id": 1001, "email": "customer@example.com"}, provider="siteA"
    )
    site_b = http_api_event(
        {"submission_id": 1001, "email": "supplier@partner.example"}, provider="siteB"
    )
    assert answer(invoke(site_a)) == (202, {"event_id": "1001", "status": "enriched"})
    assert answer(invoke(site_b)) == (202, {"event_id": "1001", "status": "enriched"})
    messages = stack.receive_all()
    assert sorted((m["body"]["source"]["provider"], m["body"]["email"]) for m in messages) == [
        ("siteA", "customer@example.com"),
        ("siteB", "supplier@partner.example"),
    ]
    # Both keep the sender's own id: consumers tell them apart by source.
    assert {m["body"]["event_id"] for m in messages} == {"1001"}
    # Each route's retry is still its own duplicate.
    assert answer(invoke(site_b)) == (202, {"event_id": "1001", "status": "enriched"})
    assert stack.receive_all() == []


def test_a_fifo_queue_deduplicates_by_the_event_id_as_the_design_fixes(stack, invoke, function_env):
    """The duplicate check keeps the two routes' 1001 apart; a FIFO output queue, which
    deduplicates by event_id for five minutes, keeps the first (docs/schema/README.md, FIFO)."""
    function_env(IDEMPOTENCY_TABLE=stack.table_name, OUTPUT_QUEUE_URL=stack.fifo_queue_url)
    for provider, email in (("siteA", "customer@example.com"), ("siteB", "customer@example.com")):
        event = http_api_event({"submission_id": 1001, "email": email}, provider=provider)
        assert invoke(event)["statusCode"] == 202
    [message] = stack.receive_all(stack.fifo_queue_url)
    assert message["body"]["source"]["provider"] == "siteA"
    assert message["system"]["MessageDeduplicationId"] == "1001"


def test_an_http_event_id_never_swallows_an_eventbridge_event(stack, invoke, ledger_env):
    shared = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    posted = http_api_event({"email": "customer@example.com"}, headers={"X-Event-Id": shared})
    assert answer(invoke(posted)) == (202, {"event_id": shared, "status": "enriched"})
    bridged = eventbridge_event({"email": "supplier@partner.example"}, event_id=shared)
    assert invoke(bridged) == {"event_id": shared, "status": "enriched"}
    kinds = sorted(m["body"]["source"]["kind"] for m in stack.receive_all())
    assert kinds == ["eventbridge", "http"]


def test_the_same_signed_webhook_id_with_another_body_is_a_conflict(
    stack, invoke, function_env, function_logs, capfd
):
    function_env(
        IDEMPOTENCY_TABLE=stack.table_name, WEBHOOK_SECRET=SECRET, ALLOW_UNSIGNED_WEBHOOKS=None
    )
    first = b'{"email": "customer@example.com", "answer": "yes"}'
    other = b'{"email": "customer@example.com", "answer": "no"}'

    def send(body: bytes) -> tuple[int, dict]:
        headers = signing.standard_webhooks(SECRET, "msg_1", body)
        return answer(invoke(http_api_event(body, headers=headers)))

    assert send(first) == (202, {"event_id": "msg_1", "status": "enriched"})
    capfd.readouterr()
    status, body = send(other)
    assert (status, body["error"]["code"]) == (409, "id_reused")
    assert "already used" in body["error"]["message"]
    assert '"DeliveryIdsReused":[1.0]' in capfd.readouterr().out
    logs = function_logs()
    assert "delivery id reused for other content" in logs
    assert "customer@example.com" not in logs  # masked, as everywhere
    # The first body's own retry is still the duplicate it is; nothing more was sent.
    assert send(first) == (202, {"event_id": "msg_1", "status": "enriched"})
    [message] = stack.receive_all()
    assert message["body"]["payload"]["answer"] == "yes"


def test_a_reused_id_is_a_conflict_while_the_first_is_in_flight_too(stack, invoke, ledger_env):
    from checks.delivery import Delivery
    from forwarding.ledger import DeliveryLedger

    source = {"kind": "http", "route": "/webhooks/website", "provider": "website"}
    busy = Delivery("msg_2", source, {"email": "customer@example.com", "n": 1}, None, "")
    assert DeliveryLedger(stack.table_name, 1).claim([busy], remaining_ms=60_000).fresh
    event = http_api_event(
        {"email": "customer@example.com", "n": 2}, headers={"webhook-id": "msg_2"}
    )
    status, body = answer(invoke(event))
    assert (status, body["error"]["code"]) == (409, "id_reused")
    assert stack.receive_all() == []


def test_one_batch_same_id_other_content_is_never_dropped_in_silence(
    stack, invoke, ledger_env, function_logs
):
    records = [
        sqs_record({"submission_id": "77", "email": "customer@example.com"}),
        sqs_record({"submission_id": "77", "email": "supplier@partner.example"}),
        sqs_record({"submission_id": "77", "email": "customer@example.com"}),  # a true repeat
    ]
    result = invoke({"Records": records})
    # The first is forwarded; the repeat of it is the same delivery; the other content fails its
    # record, so that SQS delivers it again and, in the end, to the intake's dead-letter queue.
    assert result == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    [message] = stack.receive_all()
    assert message["body"]["email"] == "customer@example.com"
    assert "delivery id reused for other content" in function_logs()
    # Redelivered alone, it is refused again: never forwarded as if it were the first.
    assert invoke({"Records": [records[1]]}) == {
        "batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]
    }
    assert stack.receive_all() == []


def test_without_the_table_both_contents_are_forwarded(stack, invoke):
    records = [
        sqs_record({"submission_id": "77", "email": "customer@example.com"}),
        sqs_record({"submission_id": "77", "email": "supplier@partner.example"}),
        sqs_record({"submission_id": "77", "email": "customer@example.com"}),
    ]
    assert invoke({"Records": records}) == {"batchItemFailures": []}
    emails = sorted(m["body"]["email"] for m in stack.receive_all())
    assert emails == ["customer@example.com", "supplier@partner.example"]


def test_a_direct_invoke_reusing_an_id_fails_so_it_is_not_lost(stack, invoke, ledger_env):
    assert invoke({"event_id": "crm-1", "email": "customer@example.com"})["event_id"] == "crm-1"
    with pytest.raises(ForwardingFailed, match="id_reused"):
        invoke({"event_id": "crm-1", "email": "supplier@partner.example"})
    assert len(stack.receive_all()) == 1
