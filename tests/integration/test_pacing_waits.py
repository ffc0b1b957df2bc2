"""What the fleet's pacing does when it must wait, or its table cannot be used: records from
the intake queue wait in their queue (their visibility timeout set to when the wait ends, one
receive per wait), a malformed or huge `Retry-After` is the default wait or 15 minutes, and a
missing, mis-keyed, throttled, hung, slow or failing table (moto, and the fault proxy in front
of it) leaves each container pacing alone, never past a webhook's budget.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time

import pytest

from forwarding.outcomes import OutcomeCode
from local.stand_ins.lambda_events import http_api_event, sqs_event
from lookups.address_lookups import Lookups
from lookups.results import LookupFailure, MinimoResult, SalesResult
from tests import fleet_helpers as fleet

# Real Retry-After and pacing waits: left out of `make test-fast`.
pytestmark = pytest.mark.slow


# --- the pacer's own faults ----------------------------------------------------------------------
def _pacing_errors(logs: str) -> list[dict]:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] == "ERROR"]
    return [line for line in errors if "PACING_TABLE" in line["message"]]


def _metric(output: str, name: str) -> float | None:
    for line in output.splitlines():
        if '"_aws"' in line and name in line:
            return json.loads(line)[name][0]
    return None


@pytest.fixture
def wrong_key_table(stack):
    dynamodb = stack.client("dynamodb")
    name = "pacing-wrong-key"
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return name


@pytest.mark.parametrize("table", ["no-such-table", "wrong-key"])
def test_a_table_that_cannot_be_used_falls_back_to_pacing_alone(
    stack, invoke, function_env, function_logs, capfd, wrong_key_table, table
):
    name = wrong_key_table if table == "wrong-key" else table
    function_env(PACING_TABLE=name, PACING_FALLBACK_CONTAINERS="4")
    capfd.readouterr()
    first = invoke(fleet.batch_event(fleet.emails(8, "alone")))
    second = invoke(fleet.batch_event(fleet.emails(4, "again")))
    assert first == second == {"batchItemFailures": []}
    statuses = {m["body"]["enrichment"]["status"] for m in stack.receive_all()}
    assert statuses == {"not_found"}  # enriched whole, not partial
    [error] = _pacing_errors(function_logs())  # once, not once per request or invocation
    assert (error["variable"], error["table"], error["api"]) == ("PACING_TABLE", name, "sales")
    assert error["requests_per_second"] == 4  # 20 x 0.92 / 4 = 4.6: 4 whole requests
    output = capfd.readouterr().out
    assert _metric(output, "PacingFallbacks") == 8  # the first invocation's 8 requests
    # Paced at 4 a second, evenly: never a burst that four such add up.
    sent = sorted(r["received_at"] for r in fleet.sales_requests(stack, "alone"))
    assert len(sent) == 8
    assert min(b - a for a, b in itertools.pairwise(sent)) > 0.2


@pytest.mark.parametrize(
    "fault",
    [
        {"service": "dynamodb", "hang": True, "always": True},
        {"service": "dynamodb", "throttle": True, "always": True},
        {"service": "dynamodb", "delay": 3, "always": True},
        {"service": "dynamodb", "status": 500, "always": True},
    ],
    ids=["unreachable", "throttled", "slow", "failing"],
)
def test_a_faulty_table_never_delays_a_webhook_past_its_budget(
    stack, invoke, function_env, function_logs, fault
):
    from local.stand_ins.aws_fault_proxy import AwsFaultProxy

    proxy = AwsFaultProxy(stack.moto_url)
    proxy.start()
    try:
        function_env(AWS_ENDPOINT_URL=proxy.url, PACING_TABLE=stack.pacing_table_name)
        proxy.add_faults([fault])
        started = time.monotonic()
        result = invoke(http_api_event({"email": "customer@example.com"}), timeout=6)
        elapsed = time.monotonic() - started
        again = invoke(http_api_event({"email": "supplier@example.com"}), timeout=6)
        elapsed_again = time.monotonic() - started - elapsed
    finally:
        proxy.stop()
    # One call to the table may cost a lookup a second at most; then the container paces
    # alone for a while and asks the table nothing.
    assert json.loads(result["body"])["status"] == "enriched"
    assert json.loads(again["body"])["status"] in ("enriched", "not_found")  # not partial
    assert elapsed < 2.5
    assert elapsed_again < 1.0
    assert len(_pacing_errors(function_logs())) == 1


# --- records that must wait, wait in their queue -----------------------------------------------
@pytest.mark.parametrize("retry_after", ["abc", "1.5", "-1", "", "99999999999"])
def test_a_malformed_or_huge_retry_after_hands_the_record_back_and_pauses_the_fleet(
    stack, invoke, function_env, retry_after
):
    function_env(PACING_TABLE=stack.pacing_table_name)
    [email] = fleet.emails(1, "told")
    told = {"status": 429, "headers": {"Retry-After": retry_after}}
    stack.sales.add_faults([told, told, told], email=email)
    event = sqs_event([{"email": email}])
    result = invoke(event, timeout=10)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert stack.receive_all() == []  # handed back, not forwarded partial
    paused_until = fleet.scheduled_until(stack) - time.time()
    if retry_after == "99999999999":
        assert 890 < paused_until <= 900  # capped at 15 minutes, not for ever
    else:
        assert -1 < paused_until <= 1.5  # the default wait: a second from the last 429


@pytest.mark.parametrize("retry_after", ["abc", "1.5", "-1", ""])
def test_a_malformed_retry_after_over_http_is_rate_limit_exceeded(
    stack, invoke, function_env, retry_after
):
    function_env(LOOKUP_MAX_ATTEMPTS="1")
    told = {"status": 429, "headers": {"Retry-After": retry_after}}
    stack.sales.add_faults([told], email="customer@example.com")
    result = invoke(http_api_event({"email": "customer@example.com"}))
    assert json.loads(result["body"])["status"] == "partial"
    [message] = stack.receive_all()
    assert message["body"]["enrichment"]["sales"]["error"]["code"] == "rate_limit_exceeded"


def test_a_record_handed_back_comes_back_when_its_wait_ends(stack, function_env):
    """Through the local event source mapping, as Lambda's does it: the record is not seen
    again before its Retry-After (3 s), nor left for the queue's own timeout (10 s here)."""
    from local.commands.invoker import load_handler
    from local.stand_ins.sqs_event_source import SqsEventSource

    function_env(PACING_TABLE=stack.pacing_table_name, LOOKUP_MAX_ATTEMPTS="1")
    handler = load_handler()
    [email] = fleet.emails(1, "comeback")
    stack.sales.add_faults([{"status": 429, "headers": {"Retry-After": "3"}}], email=email)
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.intake_queue_url, MessageBody=json.dumps({"email": email}))
    invoked: list[float] = []

    def counting(event, context):
        invoked.append(time.monotonic())
        return handler(event, context)

    mapping = SqsEventSource(sqs, stack.intake_queue_url, counting, batching_window=0.2)
    mapping.drain(idle_seconds=5.0, timeout=30)
    assert len(invoked) == 2
    assert 2.9 <= invoked[1] - invoked[0] < 8
    [message] = stack.receive_all()
    assert message["body"]["enrichment"]["status"] == "not_found"


def test_while_the_fleet_is_paused_batches_go_back_without_a_request(stack, function_env):
    function_env(PACING_TABLE=stack.pacing_table_name)
    [runtime] = fleet.containers(1)
    records = fleet.batch(fleet.emails(10, "paused"))
    fleet.sales_pacer(runtime).pause(600)  # a 429 another container got, as the table holds it
    assert fleet.drain_batch(runtime, records[:5]) == [OutcomeCode.HANDED_BACK] * 5
    calls = fleet.sales_pacer(runtime).totals()["PacingTableCalls"]
    stack.minimo.clear_requests()
    assert fleet.drain_batch(runtime, records[5:]) == [OutcomeCode.HANDED_BACK] * 5
    # Known to be paused: no API request, no DynamoDB call, until the pause ends.
    assert stack.sales.requests() == stack.minimo.requests() == []
    assert fleet.sales_pacer(runtime).totals()["PacingTableCalls"] == calls
    assert 595 < runtime.forwarding.enricher.wait_for(_held()) <= 600
    runtime.close()


def _held() -> Lookups:
    waiting = LookupFailure("rate_limited", "", deferrable=True, retry_after=1.0)
    return Lookups(MinimoResult("not_found"), SalesResult("error", error=waiting), 0)
