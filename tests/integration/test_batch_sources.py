"""EventBridge events and SQS batches: partial failures, deduplication, concurrency, caching."""

from __future__ import annotations

import json
import time

import pytest

from local.stand_ins.lambda_events import eventbridge_event, sqs_event, sqs_record

# The lookup cache's expiry and sends while lookups run, in real time: left out of `make test-fast`.
pytestmark = pytest.mark.slow

# Addresses whose sales lookup is a single page: one request per API per address.
SINGLE_PAGE = [
    "customer@example.com",
    "supplier@partner.example",
    "admin@our-company.example",
    "sales.only@example.org",
    "nobody@example.net",
]


def failed_ids(result: dict) -> list[str]:
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def test_eventbridge_detail_is_the_submission(stack, invoke):
    event = eventbridge_event({"email": "supplier@partner.example"}, event_id="eb-1")
    assert invoke(event) == {"event_id": "eb-1", "status": "enriched"}
    [message] = stack.receive_all()
    body = message["body"]
    assert body["source"] == {
        "kind": "eventbridge",
        "event_source": "forms.website",
        "detail_type": "form.submitted",
    }
    assert body["payload"] == {"email": "supplier@partner.example"}
    assert body["enrichment"]["relationship"] == "supplier"
    assert message["attributes"]["source_kind"] == "eventbridge"


def test_eventbridge_raises_when_it_cannot_forward_so_lambda_retries(stack, invoke, function_env):
    function_env(OUTPUT_QUEUE_URL=stack.queue_url + "-missing")
    with pytest.raises(Exception, match="could not be queued"):
        invoke(eventbridge_event({"email": "supplier@partner.example"}))


def test_sqs_batch_is_forwarded_once_each(stack, invoke):
    event = sqs_event([{"email": email, "n": i} for i, email in enumerate(SINGLE_PAGE)])
    assert invoke(event) == {"batchItemFailures": []}
    messages = stack.receive_all()
    assert sorted(m["body"]["payload"]["n"] for m in messages) == list(range(len(SINGLE_PAGE)))
    ids = {r["messageId"] for r in event["Records"]}
    assert {m["body"]["event_id"] for m in messages} == ids
    assert {m["body"]["source"]["kind"] for m in messages} == {"sqs"}
    assert {m["body"]["source"]["queue"] for m in messages} == {"webhook-intake"}


def test_only_the_record_whose_send_fails_is_reported(stack, invoke, function_env):
    # A queue that refuses messages over 2 KiB; one record's event will not fit.
    small = stack.client("sqs").create_queue(
        QueueName="small-messages", Attributes={"MaximumMessageSize": "2048"}
    )["QueueUrl"]
    function_env(OUTPUT_QUEUE_URL=small)
    bodies = [{"email": SINGLE_PAGE[i % 5], "n": i} for i in range(25)]
    bodies[13]["note"] = "x" * 3000
    event = sqs_event(bodies)
    result = invoke(event)
    assert failed_ids(result) == [event["Records"][13]["messageId"]]
    forwarded = stack.receive_all(small)
    assert sorted(m["body"]["payload"]["n"] for m in forwarded) == [n for n in range(25) if n != 13]


def test_twenty_five_records_five_addresses_ten_api_calls(stack, invoke):
    event = sqs_event([{"email": SINGLE_PAGE[i % 5], "n": i} for i in range(25)])
    assert invoke(event) == {"batchItemFailures": []}
    assert len(stack.minimo.requests()) == 5
    assert len(stack.sales.requests()) == 5
    assert len(stack.receive_all()) == 25


def test_a_lookup_failure_is_never_a_record_failure(stack, invoke, function_env):
    """With no window to wait in (LOOKUP_RETRY_WINDOW_SECONDS=0) a failed lookup goes out
    `partial` at once; with one, the record waits instead (test_outage_waits.py)."""
    function_env(LOOKUP_RETRY_WINDOW_SECONDS="0")
    stack.sales.add_faults([{"status": 503}] * 3, email="customer@example.com")
    event = sqs_event([{"email": "customer@example.com"}, {"email": "nobody@example.net"}])
    assert invoke(event) == {"batchItemFailures": []}
    statuses = {m["body"]["email"]: m["body"]["enrichment"]["status"] for m in stack.receive_all()}
    assert statuses == {"customer@example.com": "partial", "nobody@example.net": "not_found"}


def test_refused_records_fail_alone_and_go_back_to_the_queue(stack, invoke, function_env):
    function_env(REQUIRE_EMAIL="true")
    records = [
        sqs_record({"email": "customer@example.com"}),
        sqs_record("this is not json"),
        sqs_record({"name": "no address here"}),
        sqs_record("[" * 200 + "]" * 200),  # nested deeper than any form submission
    ]
    result = invoke({"Records": records})
    assert failed_ids(result) == [r["messageId"] for r in records[1:]]
    [message] = stack.receive_all()
    assert message["body"]["email"] == "customer@example.com"


def test_every_record_failing_is_reported_not_raised(stack, invoke, function_env):
    function_env(OUTPUT_QUEUE_URL=stack.queue_url + "-missing")
    event = sqs_event([{"email": "customer@example.com"}, {"email": "nobody@example.net"}])
    assert len(failed_ids(invoke(event))) == 2


def test_delivery_ids_in_bodies_and_envelopes(stack, invoke):
    sns = {
        "Type": "Notification",
        "MessageId": "sns-1",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:forms",
        "Message": json.dumps({"email": "customer@example.com"}),
    }
    bridged = eventbridge_event({"email": "nobody@example.net"}, event_id="eb-7")
    event = {
        "Records": [
            sqs_record({"webhook_id": "wh-1", "email": "customer@example.com"}),
            sqs_record(sns),
            sqs_record(bridged),
        ]
    }
    assert invoke(event) == {"batchItemFailures": []}
    by_id = {m["body"]["event_id"]: m["body"] for m in stack.receive_all()}
    assert set(by_id) == {"wh-1", "sns-1", "eb-7"}
    assert by_id["sns-1"]["payload"] == {"email": "customer@example.com"}
    assert by_id["eb-7"]["payload"] == {"email": "nobody@example.net"}


def test_records_of_one_delivery_are_forwarded_once(stack, invoke):
    event = sqs_event([{"event_id": "same", "email": "customer@example.com"}] * 3)
    assert invoke(event) == {"batchItemFailures": []}
    assert len(stack.receive_all()) == 1


def test_fifo_batch(stack, invoke, function_env):
    function_env(OUTPUT_QUEUE_URL=stack.fifo_queue_url)
    event = sqs_event([{"email": SINGLE_PAGE[i % 2], "n": i} for i in range(12)])
    assert invoke(event) == {"batchItemFailures": []}
    messages = stack.receive_all(stack.fifo_queue_url)
    assert len(messages) == 12
    groups = {m["body"]["email"]: m["system"]["MessageGroupId"] for m in messages}
    assert len(set(groups.values())) == 2
    assert all(m["system"]["MessageDeduplicationId"] == m["body"]["event_id"] for m in messages)
    # Within a group, messages keep the order of the batch.
    for email in groups:
        numbers = [m["body"]["payload"]["n"] for m in messages if m["body"]["email"] == email]
        assert numbers == sorted(numbers)


def test_lookups_in_flight_never_exceed_max_concurrency(stack, invoke, function_env):
    function_env(MAX_CONCURRENCY="2")
    stack.minimo.set_latency(0.05)
    emails = [f"user{i}@example.com" for i in range(8)]
    assert invoke(sqs_event([{"email": e} for e in emails])) == {"batchItemFailures": []}
    requests = stack.minimo.requests()
    assert len(requests) == 8
    most = max(
        sum(1 for o in requests if o["received_at"] <= r["received_at"] < o["answered_at"])
        for r in requests
    )
    assert most == 2


class TestLookupCache:
    def test_hit_inside_the_ttl_makes_no_api_calls(self, stack, invoke, function_env, capfd):
        function_env(LOOKUP_CACHE_TTL_SECONDS="60")
        batch = [{"email": e} for e in SINGLE_PAGE[:4]]
        invoke(sqs_event(batch))
        calls = len(stack.minimo.requests()) + len(stack.sales.requests())
        assert calls == 8
        capfd.readouterr()
        invoke(sqs_event(batch))
        assert len(stack.minimo.requests()) + len(stack.sales.requests()) == calls
        assert '"LookupCacheHits":[8.0]' in capfd.readouterr().out
        assert len(stack.receive_all()) == 8

    def test_entries_expire(self, stack, invoke, function_env):
        function_env(LOOKUP_CACHE_TTL_SECONDS="1")
        invoke(sqs_event([{"email": "customer@example.com"}]))
        time.sleep(1.1)
        invoke(sqs_event([{"email": "customer@example.com"}]))
        assert len(stack.minimo.requests()) == 2

    def test_not_found_expires_sooner_than_found(self, stack, invoke, function_env):
        function_env(LOOKUP_CACHE_TTL_SECONDS="4")  # not found: a quarter, 1 s
        batch = sqs_event([{"email": "customer@example.com"}, {"email": "nobody@example.net"}])
        invoke(batch)
        time.sleep(1.1)
        invoke(sqs_event([{"email": "customer@example.com"}, {"email": "nobody@example.net"}]))
        looked_up = [r["email"] for r in stack.minimo.requests()]
        assert sorted(looked_up) == [
            "customer@example.com",
            "nobody@example.net",
            "nobody@example.net",
        ]

    def test_errors_are_never_cached(self, stack, invoke, function_env):
        # No retry window: the first record goes out `partial` rather than waiting.
        function_env(LOOKUP_CACHE_TTL_SECONDS="60", LOOKUP_RETRY_WINDOW_SECONDS="0")
        stack.minimo.add_faults([{"status": 503}] * 3, email="customer@example.com")
        invoke(sqs_event([{"email": "customer@example.com"}]))
        invoke(sqs_event([{"email": "customer@example.com"}]))
        assert [r["status"] for r in stack.minimo.requests()] == [503, 503, 503, 200]
        assert len(stack.sales.requests()) == 1  # its answer was good, and cached
        statuses = [m["body"]["enrichment"]["status"] for m in stack.receive_all()]
        assert statuses == ["partial", "enriched"]


def test_batches_of_ten_leave_while_other_lookups_still_run(stack, invoke, function_env):
    """Events are sent as their lookups finish, not after the last one: with 4 lookups at a
    time and 100 ms each, the first ten events are on the queue before the last lookups start."""
    function_env(MAX_CONCURRENCY="4")
    stack.sales.set_latency(0.1)
    emails = [f"stream{i}@example.com" for i in range(40)]
    assert invoke(sqs_event([{"email": e} for e in emails])) == {"batchItemFailures": []}
    messages = stack.receive_all()
    assert sorted(m["body"]["email"] for m in messages) == sorted(emails)
    first_sent = min(int(m["system"]["SentTimestamp"]) for m in messages) / 1000
    last_lookup_started = max(r["received_at"] for r in stack.sales.requests())
    assert first_sent < last_lookup_started
