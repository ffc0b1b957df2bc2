"""Records waiting out an API's outage are woken as soon as it answers again
(recovery_wakeups.py): through the real handler, the intake queue (moto, whose receive counts
and visibility are SQS's), the idempotency table and the sandboxes' outage control.

The window is an hour here, so that a record's second wait is 21-42 s: a record back within
WOKEN_WITHIN can only have been woken.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from forwarding.recovery_wakeups import NOTE_PREFIX, SLOT_PREFIX
from intake import sqs as sqs_intake
from local.stand_ins.aws_fault_proxy import AwsFaultProxy
from local.stand_ins.lambda_events import sqs_record
from local.stand_ins.sqs_event_source import SqsEventSource
from tests.fleet_helpers import containers
from tests.fresh_process import run_driver

DRIVER = "tests.integration.cold_start_driver"  # a container of its own, in a process of its own
EMAIL = "customer@example.com"  # found in both APIs
WINDOW = "3600"  # a new record's first wait: 21-42 s
WOKEN_WITHIN = 15.0  # well before any backoff could bring a record back


def waiters(n: int) -> list[str]:
    return [f"waiter-{i}@wake.example" for i in range(n)]


@pytest.fixture
def wake_env(stack, function_env):
    function_env(
        IDEMPOTENCY_TABLE=stack.table_name,
        LOOKUP_MAX_ATTEMPTS="1",
        LOOKUP_RETRY_WINDOW_SECONDS=WINDOW,
    )
    yield function_env
    stack.minimo.outage.end()
    stack.sales.outage.end()


@pytest.fixture
def queue(stack) -> Iterator[str]:
    """An intake queue of the test's own: its records wait minutes, and a queue is emptied of
    those only by deleting it (PurgeQueue runs once a minute)."""
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"wake-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def mapping(stack, queue: str, runtime=None) -> SqsEventSource:
    """The event source mapping invoking the handler: this process's container, or `runtime`'s."""
    import app

    def handler(event, context):
        return sqs_intake.handle(event, context, runtime.sqs_intake)

    chosen = app.lambda_handler if runtime is None else handler
    return SqsEventSource(stack.client("sqs"), queue, chosen, batch_size=10)


def send(stack, queue: str, *emails: str) -> None:
    for email in emails:
        stack.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({"email": email}))


def queue_arn(stack, queue: str) -> str:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["QueueArn"]
    )["Attributes"]
    return attributes["QueueArn"]


def hand_back_all(stack, source: SqsEventSource, n: int) -> None:
    """Polls until `n` records have been handed back (the outage is on)."""
    deadline = time.monotonic() + 20
    while source.stats.failed_records < n and time.monotonic() < deadline:
        source.poll_once(wait_seconds=0.3)
    assert source.stats.failed_records == n
    assert stack.receive_all() == []


def drain(stack, source: SqsEventSource, count: int, timeout: float) -> dict[str, str]:
    """{address: status} of the events out, polling until `count` are out or `timeout`."""
    out: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        source.poll_once(wait_seconds=0.2)
        for message in stack.receive_all():
            body = message["body"]
            out[body["payload"]["email"]] = body["enrichment"]["status"]
    return out


def table_items(stack, prefix: str) -> list[dict]:
    items = stack.client("dynamodb").scan(TableName=stack.table_name)["Items"]
    return [item for item in items if item["id"]["S"].startswith(prefix)]


def woken_lines(logs: str) -> list[dict]:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    return [line for line in lines if str(line.get("message", "")).startswith("records woken")]


def not_visible(stack, queue: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_records_waiting_for_minimo_are_woken_when_it_answers_again(
    stack, queue, wake_env, function_logs
):
    stack.minimo.outage.start(120)
    send(stack, queue, *waiters(3))
    source = mapping(stack, queue)
    hand_back_all(stack, source, 3)
    [note] = table_items(stack, NOTE_PREFIX)
    assert note["id"]["S"] == "outage#minimo"
    slots = table_items(stack, SLOT_PREFIX)
    assert sum(len(s["handles"]["L"]) for s in slots) == 3
    assert all("@" not in json.dumps(item) for item in [note, *slots])  # never an address

    stack.minimo.outage.end()
    started = time.monotonic()
    send(stack, queue, EMAIL)  # a new record: Minimo answers it, and the waiting ones are woken
    out = drain(stack, source, 4, timeout=WOKEN_WITHIN)
    assert time.monotonic() - started < WOKEN_WITHIN
    assert out == {EMAIL: "enriched", **dict.fromkeys(waiters(3), "not_found")}  # all whole
    [line] = woken_lines(function_logs())
    assert (line["api"], line["woken"], line.get("stale", 0)) == ("minimo", 3, 0)
    for address in waiters(3):  # what the sales API answered was kept and used
        assert len([r for r in stack.sales.requests() if r["email"] == address]) == 1
    assert table_items(stack, NOTE_PREFIX) == []  # the note is cleared; the slots expire


def test_records_waiting_for_a_rate_limit_are_not_woken(stack, queue, wake_env, function_logs):
    limited, mixed, waiting = (f"{n}@wake.example" for n in ("limited", "mixed", "waiting"))
    rate_limit = {"status": 429, "headers": {"Retry-After": "60"}}
    stack.minimo.add_faults([rate_limit], email=limited)
    send(stack, queue, limited)
    source = mapping(stack, queue)
    hand_back_all(stack, source, 1)  # told to wait 60 s: a rate limit, not an outage
    assert table_items(stack, NOTE_PREFIX) == []
    stack.minimo.outage.start(120)
    # Minimo down, and the sales API says 60 s, in a container of its own (its sales pacer
    # holds the API for those 60 s: this one's must not).
    stack.sales.add_faults([rate_limit], email=mixed)
    send(stack, queue, mixed)
    [other] = containers(1)
    try:
        hand_back_all(stack, mapping(stack, queue, other), 1)
    finally:
        other.close()
    send(stack, queue, waiting)
    hand_back_all(stack, source, 2)

    stack.minimo.outage.end()
    send(stack, queue, EMAIL)
    out = drain(stack, source, 2, timeout=WOKEN_WITHIN)
    assert out == {EMAIL: "enriched", waiting: "not_found"}
    assert not_visible(stack, queue) == 2  # both still wait for the rate limits' 60 s
    [line] = woken_lines(function_logs())
    assert line["woken"] == 1


def test_a_handle_whose_record_was_sent_meanwhile_is_ignored(stack, queue, wake_env, function_logs):
    stack.minimo.outage.start(120)
    send(stack, queue, *waiters(2))
    source = mapping(stack, queue)
    hand_back_all(stack, source, 2)
    [slot, *more] = table_items(stack, SLOT_PREFIX)
    handles = [h["S"] for s in [slot, *more] for h in s["handles"]["L"]]
    # One of them is gone from the queue since (sent, say, by a delivery of its own).
    stack.client("sqs").delete_message(QueueUrl=queue, ReceiptHandle=handles[0])

    stack.minimo.outage.end()
    send(stack, queue, EMAIL)
    out = drain(stack, source, 2, timeout=WOKEN_WITHIN)
    assert len(out) == 2  # the new record and the one still waiting
    assert EMAIL in out
    [line] = woken_lines(function_logs())
    assert (line["woken"], line["stale"]) == (1, 1)


@pytest.mark.slow  # real waits of a second or more
def test_with_the_table_unavailable_records_still_come_back_by_their_backoff(
    stack, queue, wake_env, function_logs
):
    proxy = AwsFaultProxy(stack.moto_url)
    proxy.start()
    try:
        wake_env(AWS_ENDPOINT_URL=proxy.url, LOOKUP_RETRY_WINDOW_SECONDS="60")  # waits ~1 s
        proxy.add_faults([{"operation": "UpdateItem", "status": 500, "always": True}])
        stack.minimo.outage.start(120)
        send(stack, queue, *waiters(2))
        source = mapping(stack, queue)
        hand_back_all(stack, source, 2)
        assert "waiting records not written down for a wake" in function_logs()
        proxy.clear()
        stack.minimo.outage.end()
        out = drain(stack, source, 2, timeout=30)
    finally:
        proxy.stop()
    assert out == dict.fromkeys(waiters(2), "not_found")  # nothing lost, nothing partial
    assert woken_lines(function_logs()) == []


def test_the_normal_path_makes_no_call_for_wakes(stack, queue, wake_env):
    import runtime

    send(stack, queue, *waiters(3))
    assert len(drain(stack, mapping(stack, queue), 3, timeout=15)) == 3
    wakeups = runtime.current_runtime().forwarding.wakeups
    assert wakeups is not None
    assert wakeups._client is None  # its DynamoDB client is made on first use: never


@pytest.mark.slow  # real waits of a second or more
def test_a_container_that_never_saw_the_outage_wakes_the_waiting_records(
    stack, queue, wake_env, tmp_path
):
    """Two containers, each a process of its own: this one hands the records back; the other,
    new, gets a record back from an earlier wait, reads the fleet's note and wakes them."""
    stack.minimo.outage.start(120)
    send(stack, queue, *waiters(3))
    source = mapping(stack, queue)
    hand_back_all(stack, source, 3)
    stack.minimo.outage.end()

    back = sqs_record({"email": EMAIL})  # a record back from its first wait
    back["attributes"]["ApproximateReceiveCount"] = "2"
    back["eventSourceARN"] = queue_arn(stack, queue)
    env = stack.env(
        IDEMPOTENCY_TABLE=stack.table_name,
        LOOKUP_RETRY_WINDOW_SECONDS=WINDOW,
        LOG_LEVEL="INFO",
    )
    started = time.monotonic()
    [outcome], printed = run_driver(DRIVER, [{"Records": [back]}], tmp_path, env, "20")
    assert outcome["result"] == {"batchItemFailures": []}
    [line] = woken_lines(printed)
    assert (line["api"], line["woken"]) == ("minimo", 3)

    out = drain(stack, source, 4, timeout=WOKEN_WITHIN)  # this container drains them
    assert time.monotonic() - started < WOKEN_WITHIN + 10  # the other process's start included
    assert out == {EMAIL: "enriched", **dict.fromkeys(waiters(3), "not_found")}


def test_the_last_hand_back_is_not_woken(stack, queue, wake_env, invoke):
    """On its last hand-back a record waits out the window, so that an API that answers one
    request in two cannot spend its receives on wakes: only the earlier ones are written down."""
    stack.minimo.outage.start(120)
    records = []
    for receive in ("3", "4"):  # of 5: two hand-backs left, then one
        record = sqs_record({"email": f"receive-{receive}@wake.example"})
        record["attributes"]["ApproximateReceiveCount"] = receive
        record["eventSourceARN"] = queue_arn(stack, queue)
        records.append(record)
    assert len(invoke({"Records": records})["batchItemFailures"]) == 2
    [slot] = table_items(stack, SLOT_PREFIX)
    assert [h["S"] for h in slot["handles"]["L"]] == [records[0]["receiptHandle"]]
