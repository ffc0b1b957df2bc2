"""Queued records wait out an API's outage instead of going out `partial` (outage_waits.py):
through the real handler, real HTTP to the sandboxes (their outage control: every request a 503
for a while), and moto's queues, whose receive counts and redrive policy are SQS's.

Short windows and outages keep each test to seconds; the waits are worked out as with the
defaults (outage_backoff.py).
"""

from __future__ import annotations

import json
import time

import pytest

from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_event, sqs_record
from local.stand_ins.sqs_event_source import SqsEventSource
from lookups.partial_answers import PREFIX

EMAIL = "customer@example.com"  # found in both APIs: one request each


def failed(result: dict) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def statuses(messages: list[dict]) -> dict[str, str]:
    return {m["body"]["event_id"]: m["body"]["enrichment"]["status"] for m in messages}


def kept_answers(stack) -> list[dict]:
    items = stack.client("dynamodb").scan(TableName=stack.table_name)["Items"]
    return [item for item in items if item["id"]["S"].startswith(PREFIX)]


def hand_back_line(logs: str) -> dict:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    return next(line for line in lines if "waiting_out_an_outage" in line)


@pytest.fixture
def outage_env(stack, function_env):
    """Answers kept in the stack's table, as deployed; one attempt per lookup (quicker)."""
    function_env(IDEMPOTENCY_TABLE=stack.table_name, LOOKUP_MAX_ATTEMPTS="1")
    yield function_env
    stack.minimo.outage.end()
    stack.sales.outage.end()


# --- a batch as Lambda hands it over -------------------------------------------------------------
def test_a_record_waits_out_minimo_keeping_what_sales_answered(
    stack, invoke, outage_env, function_logs
):
    stack.minimo.outage.start(60)
    event = sqs_event([{"email": EMAIL}, {"email": "nobody@example.net"}])
    result = invoke(event)
    assert failed(result) == [r["messageId"] for r in event["Records"]]
    assert stack.receive_all() == []
    line = hand_back_line(function_logs())  # one line for the batch, not one per record
    assert line["waiting_out_an_outage"] == 2
    assert line["waiting_for"] == {"minimo service_unavailable": 2}
    assert line["receives"] == [1, 1]
    # Two new records, 900 s, 5 receives: the first wait is 10.6 s, drawn from its half up.
    assert 5.3 <= line["next_try_in_s"][0] <= line["next_try_in_s"][1] <= 10.6
    kept = kept_answers(stack)
    assert len(kept) == 2
    assert all(EMAIL not in json.dumps(item) for item in kept)  # never the address


def test_past_its_window_a_record_goes_out_partial(stack, invoke, outage_env, function_logs):
    outage_env(LOOKUP_RETRY_WINDOW_SECONDS="60")
    stack.minimo.outage.start(60)
    old, new = sqs_record({"email": EMAIL, "n": 1}), sqs_record({"email": EMAIL, "n": 2})
    old["attributes"]["SentTimestamp"] = str(int((time.time() - 61) * 1000))
    result = invoke({"Records": [old, new]})
    assert failed(result) == [new["messageId"]]
    [message] = stack.receive_all()
    assert message["body"]["event_id"] == old["messageId"]
    assert message["body"]["enrichment"]["status"] == "partial"
    assert '"because":{"window":1}' in function_logs().replace(" ", "")


@pytest.mark.parametrize("status", [401, 403])
def test_a_configuration_error_does_not_wait(stack, invoke, outage_env, status):
    stack.minimo.add_faults([{"status": status}], email=EMAIL)
    event = sqs_event([{"email": EMAIL}])
    assert invoke(event) == {"batchItemFailures": []}
    [message] = stack.receive_all()
    assert message["body"]["enrichment"]["status"] == "partial"
    assert kept_answers(stack) == []


def test_direct_http_and_eventbridge_never_wait(stack, invoke, outage_env):
    stack.minimo.outage.start(60)
    answer = invoke(http_api_event({"email": EMAIL}))
    assert answer["statusCode"] == 202
    assert json.loads(answer["body"])["status"] == "partial"
    assert invoke(eventbridge_event({"email": EMAIL}))["status"] == "partial"
    assert [m["body"]["enrichment"]["status"] for m in stack.receive_all()] == ["partial"] * 2


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"SentTimestamp": "yesterday", "ApproximateReceiveCount": "many"},
        {"SentTimestamp": "-5", "ApproximateReceiveCount": "-1"},
        {"SentTimestamp": "1e12", "ApproximateReceiveCount": "0"},
        {"SentTimestamp": "9" * 40, "ApproximateReceiveCount": "9" * 40},
        {"SentTimestamp": "0", "ApproximateReceiveCount": " 5"},
        {"SentTimestamp": 1733000000000, "ApproximateReceiveCount": 5},  # numbers, not strings
        {"SentTimestamp": None, "ApproximateReceiveCount": ["5"]},
    ],
    ids=["missing", "words", "negative", "float", "huge", "spaced", "numbers", "odd-types"],
)
def test_garbage_receipt_attributes_are_a_new_record(
    stack, invoke, outage_env, function_logs, attributes
):
    """Treated as first seen now, on its first receive: it waits no longer than a new record
    does (a real queue counts its receives and ends the wait whatever the record says)."""
    stack.minimo.outage.start(60)
    record = sqs_record({"email": EMAIL})
    record["attributes"] = attributes
    assert failed(invoke({"Records": [record]})) == [record["messageId"]]
    line = hand_back_line(function_logs())
    assert line["receives"] == [1, 1]
    assert line["oldest_waiting_s"] < 5
    assert line["next_try_in_s"][1] <= 10.6


# --- through the intake queue (moto), as the event source mapping delivers ---------------------
def _mapping(stack) -> SqsEventSource:
    import app

    sqs = stack.client("sqs")
    return SqsEventSource(sqs, stack.intake_queue_url, app.lambda_handler, batch_size=10)


def _drain_until(stack, mapping: SqsEventSource, count: int, timeout: float) -> list[dict]:
    """Polls the intake queue as the mapping does until `count` events are out."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        mapping.poll_once(wait_seconds=0.2)
        out += stack.receive_all()
    return out


def _queue_counts(stack) -> tuple[int, int]:
    """Messages on the intake queue (visible or not) and on its DLQ."""
    sqs, names = stack.client("sqs"), ["ApproximateNumberOfMessages"]
    names.append("ApproximateNumberOfMessagesNotVisible")

    def count(url: str) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(v) for v in attributes.values())

    return count(stack.intake_queue_url), count(stack.intake_dlq_url)


def test_the_local_stack_tells_the_function_its_intake_queues_receive_count(stack):
    """INTAKE_MAX_RECEIVE_COUNT is the queue's own, as in the template (template/test_queues)."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.intake_queue_url, AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(stack.env()["INTAKE_MAX_RECEIVE_COUNT"]) == int(redrive["maxReceiveCount"])


@pytest.mark.slow  # real waits of a second or more
def test_the_record_comes_out_whole_asking_only_the_api_that_failed(stack, outage_env):
    outage_env(LOOKUP_RETRY_WINDOW_SECONDS="60")  # first waits: 1 s (the least), 1.4-2.7 s
    stack.minimo.outage.start(2)
    stack.client("sqs").send_message(
        QueueUrl=stack.intake_queue_url, MessageBody=json.dumps({"email": EMAIL})
    )
    [message] = _drain_until(stack, _mapping(stack), 1, timeout=30)
    assert message["body"]["enrichment"]["status"] == "enriched"
    assert message["body"]["enrichment"]["minimo"]["contact"]["email"] == EMAIL
    minimo = [r["status"] for r in stack.minimo.requests() if r["email"] == EMAIL]
    assert minimo[0] == 503
    assert minimo[-1] == 200
    assert len([r for r in stack.sales.requests() if r["email"] == EMAIL]) == 1  # kept, reused
    assert kept_answers(stack) == []  # forgotten once sent
    assert _queue_counts(stack) == (0, 0)


def test_on_its_last_receive_a_record_goes_out_partial_never_to_the_dlq(stack, outage_env):
    stack.minimo.outage.start(60)
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.intake_queue_url, MessageBody=json.dumps({"email": EMAIL}))
    for _ in range(4):  # four receives spent elsewhere (a crash, a timeout): the next is the 5th
        assert sqs.receive_message(QueueUrl=stack.intake_queue_url, VisibilityTimeout=0)["Messages"]
    [message] = _drain_until(stack, _mapping(stack), 1, timeout=15)
    assert message["body"]["enrichment"]["status"] == "partial"
    assert _queue_counts(stack) == (0, 0)


@pytest.mark.slow  # real waits of a second or more
def test_a_record_whose_window_ends_goes_out_partial_from_the_queue(stack, outage_env):
    outage_env(LOOKUP_RETRY_WINDOW_SECONDS="3")
    stack.minimo.outage.start(60)
    stack.client("sqs").send_message(
        QueueUrl=stack.intake_queue_url, MessageBody=json.dumps({"email": EMAIL})
    )
    started = time.monotonic()
    [message] = _drain_until(stack, _mapping(stack), 1, timeout=30)
    assert message["body"]["enrichment"]["status"] == "partial"
    assert time.monotonic() - started >= 3  # it waited its window, not longer than it allows
    assert len([r for r in stack.minimo.requests() if r["email"] == EMAIL]) >= 2
    assert _queue_counts(stack) == (0, 0)


# --- a fleet: containers as processes of their own, sharing the outage ----------------------------
@pytest.mark.slow  # real waits of a second or more
def test_a_fleet_of_container_processes_waits_out_one_outage(stack, function_env):
    from bench.outage import OutageFleet, OutageRun, Run

    function_env()
    fleet = OutageFleet(stack.env(LOOKUP_RETRY_WINDOW_SECONDS="60"), events=40)
    try:
        result = fleet.run_outage(OutageRun(Run("two processes", "intake", 2, timeout=90), 3))
    finally:
        stack.minimo.outage.end()
    assert (result.complete, result.partial, result.dead_lettered) == (40, 0, 0)
    assert result.handed_back >= 1  # they did wait
    assert result.left_on_queue == 0
