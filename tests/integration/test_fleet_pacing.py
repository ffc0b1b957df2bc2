"""One rate limit for the whole fleet (PACING_TABLE): containers book their request slots from
one schedule in DynamoDB (moto), and the sales sandbox (20 requests per second per client,
counted at arrival, over real HTTP) sees the fleet stay under its limit.

A container here is a Runtime of its own (its own pacers, DynamoDB client, sessions and view
of the table's time) in a thread of its own, or, in one test, a process of its own
(bench/fleet_container.py, as `make bench` runs the fleet).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from lookups.pacing.container_pacer import PacingExceeded
from lookups.pacing.fleet_pacer import HEADROOM, fleet_pacer
from lookups.pacing.table_clock import MAX_PROBES, TableClock
from lookups.sales_client import FIND_BY_EMAIL_PATH
from platform_services import aws_calls
from settings import DEFAULT_SALES_API_VERSION
from tests.fleet_helpers import (
    LIMIT,
    batch,
    batch_event,
    busiest_second,
    containers,
    drain_batch,
    emails,
    sales_pacer,
    sales_requests,
    scheduled_until,
)

# Fleets of containers and processes, paced in real seconds: left out of `make test-fast`.
pytestmark = pytest.mark.slow


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
    table's time, so neither waits for slots the other booked on its own clock, and they do not
    share slots. While they calibrate, a container's sends move as its estimate of the table's
    time narrows: one slot can land beside another's (docs/pacing.md, "The table's time
    decides"): one 429 at most, where sharing slots would draw one for most of 20."""
    function_env()
    elapsed = _skewed_fleet(stack, TableClock, [5.0, -5.0])
    requests_ = sales_requests(stack, "skew0") + sales_requests(stack, "skew1")
    assert len(requests_) == 40
    assert stack.sales_control.rate_limit()["refused"] <= 1
    assert busiest_second(requests_) <= LIMIT + 1
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


def test_the_longest_pause_is_15_minutes_on_a_clock_the_test_moves(stack, function_env):
    from lookups.pacing.container_pacer import RequestPacer
    from lookups.pacing.fleet_pacer import FleetPacer
    from lookups.pacing.rate_limit_headers import retry_after_seconds
    from lookups.pacing.schedule import PacingSchedule

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
    # Stored for every container to see.
    assert scheduled_until(stack) == pytest.approx(clock.now + 900, abs=0.01)
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


def test_an_item_that_holds_no_time_is_taken_for_an_idle_schedule(stack, invoke, function_env):
    """Someone wrote something else where the schedule's `tat` goes: it is started afresh,
    not taken for a fault (which would leave the fleet pacing alone for good)."""
    function_env(PACING_TABLE=stack.pacing_table_name)
    key = f"pacing#sales#{stack.sales.url.split('://')[1]}"
    stack.client("dynamodb").put_item(
        TableName=stack.pacing_table_name,
        Item={"id": {"S": key}, "tat": {"S": "soon"}, "paused_until": {"BOOL": True}},
    )
    assert invoke(batch_event(emails(3, "garbled"))) == {"batchItemFailures": []}
    assert {m["body"]["enrichment"]["status"] for m in stack.receive_all()} == {"not_found"}
    assert time.time() - 5 < scheduled_until(stack) < time.time() + 5
