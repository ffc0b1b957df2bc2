"""Work bounded by the deadline (docs/trust-boundaries.md): an SQS batch of any size is answered
inside its context's time, what it had no time for is handed back before the deadline and never
sent after it, and no record is both forwarded and reported failed. Through the real handler,
against the local stack (moto's SQS and DynamoDB, the sales API's real 20 requests per second),
with duplicate protection on as deployed."""

from __future__ import annotations

import json
import time

import pytest

from local.stand_ins.aws_fault_proxy import AwsFaultProxy
from local.stand_ins.lambda_events import sqs_record
from platform_services import aws_calls
from platform_services.deadlines import Deadline

# Batches of 3,000 and 10,000 records and sends that hang, in real time: not in `make test-fast`.
pytestmark = pytest.mark.slow

TIMEOUT = 15.0  # the template's


def batch(count: int, prefix: str) -> dict:
    return {
        "Records": [
            sqs_record({"email": f"{prefix}-{n}@batch.example", "submission_id": f"{prefix}-{n}"})
            for n in range(count)
        ]
    }


def failed_ids(event: dict, result: dict) -> set[str]:
    """The submission ids of the records reported failed."""
    by_message = {r["messageId"]: json.loads(r["body"])["submission_id"] for r in event["Records"]}
    return {by_message[f["itemIdentifier"]] for f in result["batchItemFailures"]}


@pytest.mark.parametrize("count", [3_000, 10_000])
def test_a_huge_batch_answers_in_time_and_no_record_is_both_sent_and_failed(
    stack, invoke, function_env, function_logs, count
):
    function_env(IDEMPOTENCY_TABLE=stack.table_name, LOG_LEVEL="INFO")
    event = batch(count, f"big{count}")
    started = time.monotonic()
    result = invoke(event, timeout=TIMEOUT)
    took = time.monotonic() - started
    answered_at_ms = time.time() * 1000
    forwarded = stack.receive_all()
    sent = {m["body"]["event_id"] for m in forwarded}
    failed = failed_ids(event, result)

    assert took < TIMEOUT, f"answered after {took:.1f} s"
    assert sent, "the batch made progress"
    assert sent & failed == set()  # forwarded and reported failed: sent again later
    assert sent | failed == {f"big{count}-{n}" for n in range(count)}  # nothing lost
    assert len(forwarded) == len(sent)  # nothing sent twice
    # Nothing was sent after the answer (SQS stamps each message when it takes it).
    assert max(int(m["system"]["SentTimestamp"]) for m in forwarded) <= answered_at_ms + 50
    # What was handed back is one line for the whole batch, not one per record.
    logs = function_logs()
    assert logs.count('"message":"events handed back to their queue"') == 1
    assert logs.count("records handed back unread") <= 1
    assert "events not forwarded" not in logs
    assert "SendMessageBatch failures" not in logs


def test_a_batch_whose_sends_hang_gives_up_in_time_without_retrying_one_by_one(
    stack, invoke, function_env, function_logs
):
    """SQS accepts the connection and never answers: the first sends run out of time, the rest
    are never started (handed back), and no entry is retried on its own past the deadline."""
    proxy = AwsFaultProxy(stack.moto_url)
    proxy.start()
    try:
        function_env(AWS_ENDPOINT_URL=proxy.url, LOG_LEVEL="INFO")
        proxy.add_faults([{"operation": "SendMessageBatch", "hang": True, "always": True}])
        event = batch(200, "hung")
        started = time.monotonic()
        result = invoke(event, timeout=6)
        took = time.monotonic() - started
        proxy.clear()
    finally:
        proxy.stop()
    assert took < 6
    assert len(result["batchItemFailures"]) == 200
    assert stack.receive_all() == []
    # The two background senders' first batches, each attempt (botocore's retries of a read
    # timeout, while they fit) cut off by the deadline; nothing after the cutoff.
    assert proxy.operations["SendMessageBatch"] <= 2 * aws_calls.SQS.max_attempts
    logs = function_logs()
    assert logs.count('"message":"events handed back to their queue"') <= 1
    assert logs.count("SendMessageBatch failures") <= proxy.operations["SendMessageBatch"]


def test_lookups_that_never_started_are_not_counted_as_failed_lookups(
    stack, invoke, function_env, capsys
):
    """A batch larger than its time hands records back; its lookup counts and error metrics
    count only the lookups made, so the error-rate alarm does not take it for a failing API."""
    function_env(LOG_LEVEL="INFO")
    event = batch(600, "count")
    result = invoke(event, timeout=5)
    forwarded = len(stack.receive_all())
    handed_back = len(result["batchItemFailures"])
    assert forwarded > 0
    assert handed_back > 0
    assert forwarded + handed_back == 600
    printed = capsys.readouterr().out  # Powertools prints the metrics (EMF) to stdout
    metrics = [json.loads(line) for line in printed.splitlines() if '"_aws"' in line]
    [emf] = [m for m in metrics if "SalesLookups" in m]
    assert emf["SalesLookups"][0] < 600  # only those made
    assert emf.get("MinimoLookupErrors", [0])[0] == 0
    assert emf["EventsHandedBack"][0] == handed_back


def counted_sender():
    """The container's own queue sender, with its SendMessageBatch calls counted as botocore
    makes them, before anything is sent (a call refused for want of time counts too)."""
    from runtime import current_runtime

    calls: list[int] = []
    sender = current_runtime().forwarding.sender
    sender._sqs.meta.events.register(
        "before-parameter-build.sqs.SendMessageBatch",
        lambda params, **_: calls.append(len(params["Entries"])),
    )
    return sender, calls


MESSAGES = [
    {"event_id": f"m-{n}", "body": {"n": n}, "attributes": {"event_id": f"m-{n}"}}
    for n in range(25)
]


def messages_waiting(stack) -> int:
    """Counted, not read: these test messages are not enriched events, which receive_all holds
    every output message to."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def messages(count: int = 25) -> list:
    from forwarding.queue_sender import OutgoingMessage

    return [OutgoingMessage(**fields) for fields in MESSAGES[:count]]


def test_out_of_time_no_entry_is_tried_again_on_its_own(stack, function_env):
    sender, calls = counted_sender()
    failures = sender.send(messages(), Deadline.in_seconds(-1))
    assert len(failures) == 25
    assert set(failures.values()) == {"deadline_exceeded"}
    assert calls == [10, 10, 5]  # each batch refused before it was sent; no batch of one after
    assert stack.receive_all() == []


def test_past_the_cutoff_nothing_is_started(stack, function_env):
    sender, calls = counted_sender()
    failures = sender.send(messages(), Deadline.in_seconds(10), start_by=Deadline.in_seconds(-1))
    assert len(failures) == 25
    assert set(failures.values()) == {"not_sent"}
    assert calls == []
    assert stack.receive_all() == []


def test_entries_sqs_refused_are_still_tried_again_alone(stack, function_env):
    """The one-by-one retry stays for what it is for: isolating an entry SQS refused."""
    proxy = AwsFaultProxy(stack.moto_url)
    proxy.start()
    try:
        function_env(AWS_ENDPOINT_URL=proxy.url)
        sender, calls = counted_sender()
        proxy.add_faults([{"fail_entries": [3]}])
        assert sender.send(messages(10), Deadline.in_seconds(10)) == {}
    finally:
        proxy.stop()
    assert calls == [10, 1]
    assert messages_waiting(stack) == 10
