"""One rate limit for the whole fleet (PACING_TABLE): containers book their request slots from
one schedule in DynamoDB (moto), and the sales sandbox (20 requests per second per client,
counted at arrival, over real HTTP) sees the fleet stay under its limit.

A container here is a Runtime of its own (its own pacers, DynamoDB client, sessions and view
of the table's time) in a thread of its own, or, in one test, a process of its own
(bench/fleet_container.py, as `make bench` runs the fleet).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

import aws_calls
import sqs_intake
from deadlines import Deadline
from fleet_pacing import HEADROOM, fleet_pacer
from forwarding import HANDED_BACK, enrich_and_forward
from local.lambda_events import http_api_event, sqs_event
from request_pacing import PacingExceeded
from runtime import Runtime
from sales_client import FIND_BY_EMAIL_PATH
from settings import DEFAULT_SALES_API_VERSION, Settings
from table_clock import MAX_PROBES, TableClock

LIMIT = 20


def emails(count: int, tag: str) -> list[str]:
    return [f"{tag}-{i}@fleet.example" for i in range(count)]


def sales_requests(stack, tag: str) -> list[dict]:
    return [r for r in stack.sales.requests() if (r["email"] or "").startswith(f"{tag}-")]


def busiest_second(requests_: list[dict]) -> int:
    arrivals = sorted(r["received_at"] for r in requests_)
    return max(
        (len([t for t in arrivals[i:] if t < start + 1.0]) for i, start in enumerate(arrivals)),
        default=0,
    )


def containers(count: int) -> list[Runtime]:
    """`count` containers' worth of state, built from the environment function_env set."""
    import os

    return [Runtime.from_settings(Settings.from_env(os.environ)) for _ in range(count)]


def drain_batch(runtime: Runtime, records: list[dict]) -> list[str]:
    """What sqs_intake does with a batch, less the batch processor (a module global, one
    container's): the failures' codes."""
    deliveries = [sqs_intake.delivery_from(SQSRecord(r), runtime) for r in records]
    deadline = Deadline.in_seconds(20)
    outcomes = enrich_and_forward(deliveries, runtime, deadline, hand_back_waits=True)
    return [o.failure for o in outcomes if o.failure]


def batch(addresses: list[str]) -> list[dict]:
    return sqs_event([{"email": e} for e in addresses])["Records"]


def sales_pacer(runtime: Runtime):
    return runtime.enricher.connections["sales"].pacer


# --- the fleet stays under the limit -------------------------------------------------------------
def test_three_containers_draining_at_once_stay_under_the_limit(stack, function_env):
    function_env(PACING_TABLE=stack.pacing_table_name)
    fleet = containers(3)
    batches = [batch(emails(30, f"fleet{n}")) for n in range(3)]
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        failures = list(pool.map(drain_batch, fleet, batches))
    elapsed = time.monotonic() - started
    assert failures == [[], [], []]
    messages = stack.receive_all()
    assert len(messages) == 90
    assert {m["body"]["enrichment"]["status"] for m in messages} == {"not_found"}
    sent = [r for n in range(3) for r in sales_requests(stack, f"fleet{n}")]
    assert [r["status"] for r in sent] == [200] * 90  # not one 429
    assert stack.sales_control.rate_limit()["refused"] == 0
    assert busiest_second(sent) <= LIMIT
    # Together they get the whole limit (less the headroom), not a third of it each.
    assert elapsed < 90 / (LIMIT * HEADROOM) + 3.0
    # A batch books its slots in a block: besides the container's first read and the reads
    # that calibrate its clock, a call or two for 30 requests, not 30.
    calls = [sales_pacer(c).totals()["PacingTableCalls"] for c in fleet]
    assert all(n <= 1 + MAX_PROBES + 2 for n in calls), calls
    for container in fleet:
        container.close()


def test_without_the_table_the_same_fleet_draws_429s(stack, function_env):
    """What the shared schedule prevents: three containers each pacing itself at 20/s."""
    function_env(LOOKUP_MAX_ATTEMPTS="1")
    fleet = containers(3)
    batches = [batch(emails(25, f"alone{n}")) for n in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(drain_batch, fleet, batches))
    assert stack.sales_control.rate_limit()["refused"] > 0
    for container in fleet:
        container.close()


def test_two_container_processes_share_the_limit(stack, function_env):
    """As `make bench` runs the fleet: processes of their own, each importing the handler."""
    from bench.fleet import Fleet, Run

    function_env()
    fleet = Fleet(stack.env(), events=60)
    result = fleet.run(Run("two processes", "intake", 2, timeout=60))
    assert result.complete == 60
    assert (result.partial, result.dead_lettered, result.refused) == (0, 0, 0)
    assert result.busiest_second <= LIMIT


# --- the table's time decides ------------------------------------------------------------------
class OwnClockOnly(TableClock):
    """A container that believes its own clock whatever the table's answers say."""

    def observe(self, sent: float, received: float, date_header: str | None) -> None:
        pass


def _send_paced(stack, pacer, tag: str, count: int, sent: list[float]) -> None:
    session = requests.Session()
    for email in emails(count, tag):
        pacer.take_slot(latest=time.monotonic() + 30)
        sent.append(time.monotonic())
        session.post(
            stack.sales.url + FIND_BY_EMAIL_PATH,
            json={"email": email},
            headers={
                "Authorization": f"Bearer {stack.sales_api_key}",
                "OpenMRP-Version": DEFAULT_SALES_API_VERSION,
            },
            timeout=5,
        )


def _skewed_fleet(stack, clock_class: type[TableClock], skews: list[float]) -> float:
    """Two containers whose wall clocks are `skews` off, 20 requests each, at once: seconds."""
    pacers = [
        fleet_pacer(
            lambda: aws_calls.client("dynamodb", aws_calls.PACING),
            clock_class(wall=lambda skew=skew: time.time() + skew),
            table=stack.pacing_table_name,
            api="sales",
            base_url=stack.sales.url,
            requests_per_second=LIMIT,
            containers=2,
        )
        for skew in skews
    ]
    sent: list[float] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=_send_paced, args=(stack, pacer, f"skew{n}", 20, sent))
        for n, pacer in enumerate(pacers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def test_clock_skew_between_containers_does_not_decide_the_schedule(stack, function_env):
    """One container's clock is 5 s fast, the other's 5 s slow. Their schedule is kept on the
    table's time, so neither waits for slots the other booked on its own clock."""
    function_env()
    elapsed = _skewed_fleet(stack, TableClock, [5.0, -5.0])
    requests_ = sales_requests(stack, "skew0") + sales_requests(stack, "skew1")
    assert len(requests_) == 40
    assert stack.sales_control.rate_limit()["refused"] == 0
    assert busiest_second(requests_) <= LIMIT
    # 40 slots at 18.4 a second, plus at most a second of not yet knowing the table's time.
    assert elapsed < 40 / (LIMIT * HEADROOM) + 2.0


def test_skewed_clocks_trusted_as_they_are_would_stall_the_fleet(stack, function_env):
    """The same fleet believing its own clocks: the slow one waits out the 10 s between them."""
    function_env()
    elapsed = _skewed_fleet(stack, OwnClockOnly, [5.0, -5.0])
    assert elapsed > 40 / (LIMIT * HEADROOM) + 5.0


# --- a 429 pauses the fleet, for 15 minutes at most ----------------------------------------------
class ManualClock(TableClock):
    """The table's time and the container's, both moved by the test (the table's answers are
    real moto answers, whose Date the test does not control, so they are not listened to)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_900_000_000.0
        self.mono = 50_000.0

    def monotonic(self) -> float:
        return self.mono

    def observe(self, sent: float, received: float, date_header: str | None) -> None:
        pass

    @property
    def known(self) -> bool:
        return True

    def latest_now(self) -> float:
        return self.now

    earliest_now = latest_now

    def to_monotonic(self, table_time: float) -> float:
        return self.mono + table_time - self.now

    def to_table(self, monotonic_time: float) -> float:
        return self.now + monotonic_time - self.mono

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


def _tat(stack, api: str = "sales") -> float:
    item = stack.client("dynamodb").get_item(
        TableName=stack.pacing_table_name,
        Key={"id": {"S": f"pacing#{api}#{stack.sales.url.split('://')[1]}"}},
        ConsistentRead=True,
    )["Item"]
    return float(item["tat"]["N"])


def test_the_longest_pause_is_15_minutes_on_a_clock_the_test_moves(stack, function_env):
    from fleet_pacing import FleetPacer
    from pacing_schedule import PacingSchedule
    from rate_limit_headers import retry_after_seconds
    from request_pacing import RequestPacer

    function_env()
    clock = ManualClock()
    schedule = PacingSchedule(
        lambda: aws_calls.client("dynamodb", aws_calls.PACING),
        stack.pacing_table_name,
        f"pacing#sales#{stack.sales.url.split('://')[1]}",
        1 / (LIMIT * HEADROOM),
        clock,
    )
    pacer = FleetPacer(
        schedule,
        clock,
        fallback=RequestPacer(LIMIT, clock=clock.monotonic, sleep=clock.sleep),
        table=stack.pacing_table_name,
        api="sales",
        requests_per_second=LIMIT,
        sleep=clock.sleep,
    )
    pacer.take_slot(latest=clock.mono + 10)  # a free slot: at once
    pacer.pause(retry_after_seconds("99999999999"))  # what the API once said
    assert _tat(stack) == pytest.approx(clock.now + 900, abs=0.01)  # stored for every container
    with pytest.raises(PacingExceeded) as held:
        pacer.take_slot(latest=clock.mono + 10)
    assert held.value.wait_seconds == pytest.approx(900, abs=0.01)
    clock.sleep(899)
    with pytest.raises(PacingExceeded) as held:
        pacer.take_slot(latest=clock.mono + 0.5)
    assert held.value.wait_seconds == pytest.approx(1, abs=0.01)
    clock.sleep(2)
    before = clock.now
    pacer.take_slot(latest=clock.mono + 10)  # the pause is over: the fleet sends again
    assert clock.now - before < 0.1


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
    first = invoke(sqs_event([{"email": e} for e in emails(8, "alone")]))
    second = invoke(sqs_event([{"email": e} for e in emails(4, "again")]))
    assert first == second == {"batchItemFailures": []}
    statuses = {m["body"]["enrichment"]["status"] for m in stack.receive_all()}
    assert statuses == {"not_found"}  # enriched whole, not partial
    [error] = _pacing_errors(function_logs())  # once, not once per request or invocation
    assert (error["variable"], error["table"], error["api"]) == ("PACING_TABLE", name, "sales")
    assert error["requests_per_second"] == 4  # 20 x 0.92 / 4 = 4.6: 4 whole requests
    output = capfd.readouterr().out
    assert _metric(output, "PacingFallbacks") == 8  # the first invocation's 8 requests
    # Paced at 4 a second, evenly: never a burst that four such add up.
    sent = sorted(r["received_at"] for r in sales_requests(stack, "alone"))
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
    from local.aws_fault_proxy import AwsFaultProxy

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
    [email] = emails(1, "told")
    told = {"status": 429, "headers": {"Retry-After": retry_after}}
    stack.sales.add_faults([told, told, told], email=email)
    event = sqs_event([{"email": email}])
    result = invoke(event, timeout=10)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert stack.receive_all() == []  # handed back, not forwarded partial
    paused_until = _tat(stack) - time.time()
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
    from local.invoker import load_handler
    from local.sqs_event_source import SqsEventSource

    function_env(PACING_TABLE=stack.pacing_table_name, LOOKUP_MAX_ATTEMPTS="1")
    handler = load_handler()
    [email] = emails(1, "comeback")
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
    [runtime] = containers(1)
    records = sqs_event([{"email": e} for e in emails(10, "paused")])["Records"]
    sales_pacer(runtime).pause(600)  # a 429 another container got, as the table holds it
    assert drain_batch(runtime, records[:5]) == [HANDED_BACK] * 5
    calls = sales_pacer(runtime).totals()["PacingTableCalls"]
    stack.minimo.clear_requests()
    assert drain_batch(runtime, records[5:]) == [HANDED_BACK] * 5
    # Known to be paused: no API request, no DynamoDB call, until the pause ends.
    assert stack.sales.requests() == stack.minimo.requests() == []
    assert sales_pacer(runtime).totals()["PacingTableCalls"] == calls
    assert 595 < runtime.enricher.wait_for(_held(runtime)) <= 600
    runtime.close()


def _held(runtime: Runtime):
    from enrichment import Lookups
    from lookup_results import LookupFailure, MinimoResult, SalesResult

    waiting = LookupFailure("rate_limited", "", deferrable=True, retry_after=1.0)
    return Lookups(MinimoResult("not_found"), SalesResult("error", error=waiting), 0)


def test_an_item_that_holds_no_time_is_taken_for_an_idle_schedule(stack, invoke, function_env):
    """Someone wrote something else where the schedule's `tat` goes: it is started afresh,
    not taken for a fault (which would leave the fleet pacing alone for good)."""
    function_env(PACING_TABLE=stack.pacing_table_name)
    key = f"pacing#sales#{stack.sales.url.split('://')[1]}"
    stack.client("dynamodb").put_item(
        TableName=stack.pacing_table_name,
        Item={"id": {"S": key}, "tat": {"S": "soon"}, "paused_until": {"BOOL": True}},
    )
    assert invoke(sqs_event([{"email": e} for e in emails(3, "garbled")])) == {
        "batchItemFailures": []
    }
    assert {m["body"]["enrichment"]["status"] for m in stack.receive_all()} == {"not_found"}
    assert time.time() - 5 < _tat(stack) < time.time() + 5
