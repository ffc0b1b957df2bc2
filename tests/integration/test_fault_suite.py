"""A stream of 1,000 events through mixed faults in both APIs and in SQS, with senders that
retry as webhook senders and SQS do. Every accepted event must be on the queue exactly once.

Faults: 5xx, 429 with Retry-After, connection resets, truncated and non-JSON answers, read
timeouts, 400/401/404 answers (sandbox APIs); throttling, 5xx, a vanished queue and batches
with failing entries (an SQS proxy in front of moto). Duplicate deliveries are caught by the
idempotency table, so a sender's retry after a lost answer forwards nothing twice.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import Counter, defaultdict

import pytest

from local.stand_ins.aws_fault_proxy import AwsFaultProxy
from local.stand_ins.lambda_events import http_api_event, sqs_record

# 1,000 events through injected faults, with retrying senders: left out of `make test-fast`.
pytestmark = pytest.mark.slow

HTTP_EVENTS = 300
SQS_BATCHES = 28
BATCH_SIZE = 25
SENDER_ATTEMPTS = 6
CONTEXT_SECONDS = 6.0
TIMEOUT_SECONDS = 0.3  # HTTP_TIMEOUT_SECONDS: slower answers were given up on by the client

API_FAULTS = [
    ({"status": 503}, 8),
    ({"status": 500}, 4),
    ({"status": 502}, 3),
    ({"status": 429, "headers": {"Retry-After": "1"}}, 1),
    ({"status": 429}, 3),
    ({"reset": True}, 3),
    ({"truncate": True}, 1),
    ({"non_json": True}, 1),
    ({"delay": 0.5}, 1),  # longer than HTTP_TIMEOUT_SECONDS: a read timeout
    ({"status": 400}, 1),
    ({"status": 401}, 1),
    ({"status": 404}, 1),
    ({"pass": True}, 150),
]
SQS_FAULTS = [
    ({"throttle": True}, 6),
    ({"status": 500}, 4),
    ({"queue_missing": True}, 2),
    ({"fail_entries": [0]}, 3),
    ({"fail_entries": [1, 4, 7]}, 3),
    ({"fail_entries": "all"}, 1),
    ({"pass": True}, 180),
]


def script(rng: random.Random, weighted: list[tuple[dict, int]], length: int) -> list[dict]:
    steps, weights = zip(*weighted, strict=True)
    return [dict(step) for step in rng.choices(steps, weights=weights, k=length)]


@pytest.fixture
def faulty(stack, function_env):
    proxy = AwsFaultProxy(stack.moto_url)
    proxy.start()
    function_env(
        AWS_ENDPOINT_URL=proxy.url,
        IDEMPOTENCY_TABLE=stack.table_name,
        HTTP_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
    )
    yield proxy
    proxy.stop()


def test_a_thousand_events_through_mixed_faults(stack, invoke, faulty, capsys):
    rng = random.Random(20261122)
    for sandbox in (stack.minimo, stack.sales):
        sandbox.add_faults(script(rng, API_FAULTS, 3000))
    faulty.add_faults(script(rng, SQS_FAULTS, 1500))

    accepted: set[str] = set()
    gave_up: set[str] = set()
    attempts: Counter[str] = Counter()
    durations: list[float] = []

    def timed(event):
        started = time.monotonic()
        try:
            return invoke(event, timeout=CONTEXT_SECONDS)
        finally:
            durations.append(time.monotonic() - started)

    # Webhook senders: retry on anything but 2xx (409 and 503 are the retryable answers).
    for n in range(HTTP_EVENTS):
        event_id = f"http-{n}"
        body = {"email": f"sender{n}@example.com", "n": n}
        for _ in range(SENDER_ATTEMPTS):
            attempts[event_id] += 1
            result = timed(http_api_event(body, headers={"webhook-id": event_id}))
            assert result["statusCode"] in (202, 409, 503), result
            if result["statusCode"] == 202:
                accepted.add(event_id)
                break
        else:
            gave_up.add(event_id)

    http_seconds = sum(durations)
    # SQS: the records a batch reports as failed come back in a later batch.
    for b in range(SQS_BATCHES):
        pending = [
            sqs_record({"email": f"record{b}-{i}@example.com"}, message_id=f"sqs-{b}-{i}")
            for i in range(BATCH_SIZE)
        ]
        for _ in range(SENDER_ATTEMPTS):
            for record in pending:
                attempts[record["messageId"]] += 1
            result = timed({"Records": pending})
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            accepted |= {r["messageId"] for r in pending if r["messageId"] not in failed}
            pending = [r for r in pending if r["messageId"] in failed]
            if not pending:
                break
        gave_up |= {r["messageId"] for r in pending}

    faulty.clear()
    messages = stack.receive_all()
    on_queue = Counter(m["body"]["event_id"] for m in messages)
    duplicated = {event_id for event_id, n in on_queue.items() if n > 1}
    lost = accepted - set(on_queue)
    unexpected = set(on_queue) - accepted - gave_up
    total = HTTP_EVENTS + SQS_BATCHES * BATCH_SIZE
    retried = sum(1 for n in attempts.values() if n > 1)
    partial = sum(1 for m in messages if m["body"]["enrichment"]["status"] == "partial")

    with capsys.disabled():
        print(
            f"\nfault suite: {total} events, {len(accepted)} accepted, {len(gave_up)} answered "
            f"non-2xx to the end, {partial} forwarded as partial, {retried} needed a sender retry, "
            f"{stack.minimo.faults_played + stack.sales.faults_played} API faults and "
            f"{faulty.faults_played} SQS faults injected, {len(lost)} lost, "
            f"{len(duplicated)} duplicated, slowest invocation {max(durations):.2f} s "
            f"(HTTP {http_seconds:.0f} s, SQS {sum(durations) - http_seconds:.0f} s)"
        )

    assert len(accepted) + len(gave_up) == total
    assert lost == set()
    assert duplicated == set()
    assert unexpected == set()
    # The faults did bite: some lookups failed for good, and SQS misbehaved too.
    assert partial > 0
    assert faulty.faults_played > 0
    assert max(durations) < CONTEXT_SECONDS  # no retry outlived the invocation

    _assert_retry_after_was_honoured(stack, attempts)
    _assert_client_errors_were_not_retried(stack, attempts)


def _lookups_of_single_invocations(stack, attempts):
    """Each API's requests for one event's address, in the order received, for the events
    handled in one invocation (a sender's retry starts new lookups, which would blur gaps)."""
    for sandbox in (stack.minimo, stack.sales):
        by_email = defaultdict(list)
        for request in sorted(sandbox.requests(), key=lambda r: r["received_at"]):
            by_email[request["email"]].append(request)
        for email, requests in by_email.items():
            if attempts[_event_of(email)] == 1:
                yield requests


def _assert_retry_after_was_honoured(stack, attempts):
    waited = 0
    for requests in _lookups_of_single_invocations(stack, attempts):
        for earlier, later in itertools.pairwise(requests):
            if earlier["status"] == 429 and earlier.get("retry_after"):
                assert later["received_at"] - earlier["answered_at"] >= 1.0
                waited += 1
    assert waited > 0, "no 429 with Retry-After was retried: the check checked nothing"


def _assert_client_errors_were_not_retried(stack, attempts):
    """A 400/401/404 answer (that arrived in time) is final for that lookup."""
    checked = 0
    for requests in _lookups_of_single_invocations(stack, attempts):
        for index, request in enumerate(requests):
            abandoned = request["answered_at"] - request["received_at"] >= TIMEOUT_SECONDS
            if request["status"] in (400, 401, 404) and not abandoned:
                assert index == len(requests) - 1, json.dumps(requests, indent=1)
                checked += 1
    assert checked > 0


def _event_of(email: str) -> str:
    local = email.split("@")[0]
    if local.startswith("sender"):
        return f"http-{local.removeprefix('sender')}"
    batch, index = local.removeprefix("record").split("-")
    return f"sqs-{batch}-{index}"
