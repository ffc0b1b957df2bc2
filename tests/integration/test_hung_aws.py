"""Hung AWS calls never outlive the invocation: SQS, DynamoDB and Secrets Manager each stall
behind a fault proxy in front of moto (accepting requests and never answering, or answering
after the caller gave up), and the real handler, with 6 s left in its context, answers before
its deadline with the documented answer. Senders retry as they do (HTTP on anything but 2xx,
SQS its failed records, Lambda a failed EventBridge event) and nothing arrives twice.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from intake.outcome_answers import ForwardingFailed
from local.stand_ins.aws_fault_proxy import AwsFaultProxy
from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_record
from tests import signing

# AWS calls that hang until their deadlines: left out of `make test-fast`.
pytestmark = pytest.mark.slow

CONTEXT_SECONDS = 6.0
BODY = {"email": "customer@example.com"}


@pytest.fixture
def aws(stack, function_env):
    proxy = AwsFaultProxy(stack.moto_url)
    proxy.start()
    function_env(AWS_ENDPOINT_URL=proxy.url, IDEMPOTENCY_TABLE=stack.table_name)
    yield proxy
    proxy.stop()


class Clock:
    """Runs the handler with CONTEXT_SECONDS left and remembers how long each call took."""

    def __init__(self, invoke) -> None:
        self._invoke = invoke
        self.durations: list[float] = []

    def __call__(self, event):
        started = time.monotonic()
        try:
            return self._invoke(event, timeout=CONTEXT_SECONDS)
        finally:
            self.durations.append(time.monotonic() - started)

    @property
    def last(self) -> float:
        return self.durations[-1]


@pytest.fixture
def clock(invoke) -> Clock:
    return Clock(invoke)


def status(result: dict) -> tuple[int, str | None]:
    return result["statusCode"], json.loads(result["body"]).get("error", {}).get("code")


def event_ids(stack, queue_url=None) -> Counter[str]:
    return Counter(m["body"]["event_id"] for m in stack.receive_all(queue_url))


def assert_the_retry_is_forwarded_once(stack, aws, clock, event: dict) -> None:
    """With the fault gone, the sender's retry of msg_1 is answered 202 and forwarded, once."""
    aws.clear()
    assert status(clock(event)) == (202, None)
    assert event_ids(stack) == {"msg_1": 1}


# --- DynamoDB (the duplicate check) --------------------------------------------------------------
def test_hung_dynamodb_answers_202_in_time_and_sends_once(stack, aws, clock):
    aws.add_faults([{"service": "dynamodb", "hang": True, "always": True}])
    result = clock(http_api_event(BODY, headers={"webhook-id": "msg_1"}))
    # The claim could not be made in time: forwarded anyway (at least once beats never), and
    # answered while the sender still listens, so that it has no reason to send it again.
    assert status(result) == (202, None)
    assert 1.0 < clock.last < CONTEXT_SECONDS
    assert aws.operations["PutItem"] >= 1  # the claim was tried
    assert aws.operations["UpdateItem"] >= 1  # and so was recording the answer
    assert event_ids(stack) == {"msg_1": 1}


def test_a_claim_that_landed_late_still_catches_the_senders_retry(stack, aws, clock):
    # PutItem takes effect but its answer comes after the client gave up.
    aws.add_faults([{"operation": "PutItem", "answer_after": 4.0, "always": True}])
    event = http_api_event(BODY, headers={"webhook-id": "msg_1"})
    assert status(clock(event)) == (202, None)
    assert clock.last < CONTEXT_SECONDS
    # The sender did not hear the answer and delivers again: the ledger knows it.
    assert_the_retry_is_forwarded_once(stack, aws, clock, event)


def test_hung_dynamodb_under_an_sqs_batch(stack, aws, clock):
    aws.add_faults([{"service": "dynamodb", "hang": True, "always": True}])
    records = [sqs_record({"email": f"r{n}@example.com"}, message_id=f"m-{n}") for n in range(5)]
    assert clock({"Records": records}) == {"batchItemFailures": []}
    assert 1.0 < clock.last < CONTEXT_SECONDS
    assert sorted(event_ids(stack).values()) == [1] * 5


# --- SQS (the output queue) ---------------------------------------------------------------------
def test_hung_sqs_answers_503_in_time_and_the_retry_sends_once(stack, aws, clock):
    aws.add_faults([{"operation": "SendMessageBatch", "hang": True, "always": True}])
    event = http_api_event(BODY, headers={"webhook-id": "msg_1"})
    assert status(clock(event)) == (503, "unavailable")
    assert 1.0 < clock.last < CONTEXT_SECONDS
    assert stack.receive_all() == []
    # Its claim was released in time: the sender's retry is forwarded, once.
    assert_the_retry_is_forwarded_once(stack, aws, clock, event)


def test_sqs_that_answers_after_the_client_gave_up(stack, aws, clock, function_env):
    """The send worked but its answer came too late: the sender is told 503 and retries. On a
    FIFO queue the deduplication id (the delivery's key) keeps the second copy out; a standard
    queue is at-least-once, as SQS itself is."""
    function_env(
        AWS_ENDPOINT_URL=aws.url,
        IDEMPOTENCY_TABLE=stack.table_name,
        OUTPUT_QUEUE_URL=stack.fifo_queue_url,
    )
    aws.add_faults([{"operation": "SendMessageBatch", "answer_after": 5.0, "always": True}])
    event = http_api_event(BODY, headers={"webhook-id": "msg_1"})
    assert status(clock(event)) == (503, "unavailable")
    assert clock.last < CONTEXT_SECONDS
    aws.clear()
    assert status(clock(event)) == (202, None)
    assert event_ids(stack, stack.fifo_queue_url) == {"msg_1": 1}


def test_no_retry_waits_past_the_deadline(stack, aws, clock):
    """SQS throttles and asks for 3 s (x-amz-retry-after), which botocore would wait out: the
    second wait would end past the deadline, so that retry is not made at all."""
    throttled = {"operation": "SendMessageBatch", "throttle": True, "retry_after_ms": 3000}
    aws.add_faults([{**throttled, "always": True}])
    event = http_api_event(BODY, headers={"webhook-id": "msg_1"})
    assert status(clock(event)) == (503, "unavailable")
    assert 3.0 < clock.last < CONTEXT_SECONDS  # the first wait (3 s) did fit, and was waited
    assert_the_retry_is_forwarded_once(stack, aws, clock, event)


def test_hung_sqs_fails_the_records_in_time_and_redelivery_sends_once(stack, aws, clock):
    aws.add_faults([{"operation": "SendMessageBatch", "hang": True, "always": True}])
    records = [sqs_record({"email": f"r{n}@example.com"}, message_id=f"m-{n}") for n in range(5)]
    failed = clock({"Records": records})["batchItemFailures"]
    assert {f["itemIdentifier"] for f in failed} == {r["messageId"] for r in records}
    assert clock.last < CONTEXT_SECONDS
    aws.clear()
    assert clock({"Records": records}) == {"batchItemFailures": []}
    assert sorted(event_ids(stack).values()) == [1] * 5


def test_hung_sqs_fails_an_eventbridge_event_in_time(stack, aws, clock):
    aws.add_faults([{"operation": "SendMessageBatch", "hang": True, "always": True}])
    bridged = eventbridge_event(BODY, event_id="eb-1")
    with pytest.raises(ForwardingFailed):
        clock(bridged)
    assert clock.last < CONTEXT_SECONDS
    aws.clear()
    assert clock(bridged) == {"event_id": "eb-1", "status": "enriched"}  # Lambda's retry
    assert event_ids(stack) == {"eb-1": 1}


# --- Secrets Manager (the webhook secret and API keys) ------------------------------------------
def test_hung_secrets_manager_answers_503_in_time(stack, aws, clock, function_env):
    function_env(
        AWS_ENDPOINT_URL=aws.url,
        IDEMPOTENCY_TABLE=stack.table_name,
        API_KEYS_SECRET_ARN=stack.secret_arn,
        ALLOW_UNSIGNED_WEBHOOKS=None,
    )
    aws.add_faults([{"operation": "GetSecretValue", "hang": True, "always": True}])
    body = json.dumps(BODY).encode()

    def signed():  # a sender signs each attempt anew
        headers = signing.standard_webhooks(stack.webhook_secret, "msg_1", body)
        return http_api_event(body, headers=headers)

    assert status(clock(signed())) == (503, "unavailable")
    assert 1.0 < clock.last < CONTEXT_SECONDS
    assert stack.receive_all() == []
    assert stack.minimo.requests() == stack.sales.requests() == []
    assert_the_retry_is_forwarded_once(stack, aws, clock, signed())


def three_records_with_the_secret_read_hung(stack, aws, function_env) -> list[dict]:
    """The API keys read from Secrets Manager through the fault proxy, which hangs every read."""
    function_env(
        AWS_ENDPOINT_URL=aws.url,
        IDEMPOTENCY_TABLE=stack.table_name,
        API_KEYS_SECRET_ARN=stack.secret_arn,
    )
    aws.add_faults([{"operation": "GetSecretValue", "hang": True, "always": True}])
    return [sqs_record({"email": f"r{n}@example.com"}, message_id=f"m-{n}") for n in range(3)]


def test_hung_secrets_manager_under_an_sqs_batch_forwards_partial_in_time(
    stack, aws, clock, function_env
):
    """Outside HTTP the secret only holds the API keys: the lookups fail, and the events go out
    `partial` (as for any lookup failure) before the deadline."""
    records = three_records_with_the_secret_read_hung(stack, aws, function_env)
    assert clock({"Records": records}) == {"batchItemFailures": []}
    assert 1.0 < clock.last < CONTEXT_SECONDS
    messages = stack.receive_all()
    assert len(messages) == 3
    for message in messages:
        enrichment = message["body"]["enrichment"]
        assert enrichment["status"] == "partial"
        assert {enrichment["minimo"]["error"]["code"], enrichment["sales"]["error"]["code"]} <= {
            "secret_unavailable",
            "deadline_exceeded",
        }


def test_the_lookups_secret_reads_end_with_the_lookups(stack, aws, invoke, function_env):
    """The lookups run in worker threads; the deadline of the secret read they make travels with
    them, so a hung read is given up at the lookups' deadline, not left running after the
    invocation returned (to resume in the next one)."""
    records = three_records_with_the_secret_read_hung(stack, aws, function_env)
    # 3 s left: the lookups have 2 s, room for one attempt each and no retry.
    assert invoke({"Records": records}, timeout=3.0) == {"batchItemFailures": []}
    time.sleep(1.5)  # a read still running on its own timeouts would retry by now
    assert aws.operations["GetSecretValue"] == 6  # one per lookup: 3 addresses, 2 APIs


def test_sending_keeps_its_turn_when_the_lookups_use_all_their_time(stack, aws, invoke):
    """3 s left and both APIs too slow: the lookups give up at their deadline, and what is left
    goes to SQS first; the duplicate check's bookkeeping only gets a share that fits an attempt."""
    for api in (stack.minimo, stack.sales):
        api.add_faults([{"delay": 4.0}])
    started = time.monotonic()
    result = invoke(http_api_event(BODY, headers={"webhook-id": "msg_1"}), timeout=3.0)
    assert time.monotonic() - started < 3.0
    assert json.loads(result["body"]) == {"event_id": "msg_1", "status": "partial"}
    assert event_ids(stack) == {"msg_1": 1}
