"""The table's time from DynamoDB's `Date` headers, on clocks the test sets: the container's own
clock is used while the table's answers bear it out, and the table's time decides when they
do not. (tests/integration/test_fleet_pacing.py runs skewed containers against moto.)"""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookups.pacing.table_clock import TableClock

TABLE_EPOCH = 1_800_000_000.0  # the table's time when the monotonic clock reads 0


class Clocks:
    """A monotonic clock and a wall clock that is `skew` seconds off the table's time."""

    def __init__(self, skew: float = 0.0) -> None:
        self.monotonic = 1000.0
        self.skew = skew
        self.epoch = TABLE_EPOCH  # the table's time when the monotonic clock reads 0

    def wall(self) -> float:
        return self.epoch + self.monotonic + self.skew

    def table_now(self) -> float:
        return self.epoch + self.monotonic

    def clock(self) -> TableClock:
        return TableClock(wall=self.wall, monotonic=lambda: self.monotonic)

    def call(self, clock: TableClock, round_trip: float = 0.004, served_at: float = 0.5) -> None:
        """One call to the table: sent now, served `served_at` of the way through, answered."""
        sent = self.monotonic
        served = self.table_now() + round_trip * served_at
        self.monotonic += round_trip
        date = email.utils.formatdate(int(served), usegmt=True)  # whole seconds, as DynamoDB
        clock.observe(sent, self.monotonic, date)


def test_before_any_answer_the_containers_clock_is_used():
    clocks = Clocks(skew=3.0)
    clock = clocks.clock()
    assert not clock.known
    assert clock.latest_now() == clock.earliest_now() == clocks.wall()


def test_a_clock_the_table_bears_out_is_used_as_it_is():
    clocks = Clocks(skew=0.0002)
    clock = clocks.clock()
    for _ in range(50):
        clocks.call(clock)
        clocks.monotonic += 0.137  # calls at every phase of the table's seconds
    assert clock.known
    assert clock.latest_now() == clock.earliest_now() == pytest.approx(clocks.wall())


@pytest.mark.parametrize("skew", [-7.0, -1.5, 1.5, 7.0])
def test_a_skewed_clock_is_replaced_by_the_tables_time(skew):
    clocks = Clocks(skew=skew)
    clock = clocks.clock()
    clocks.call(clock)
    # One answer: the table's time is known to within its Date's whole second.
    assert clock.earliest_now() <= clocks.table_now() <= clock.latest_now()
    assert clock.uncertainty <= 1.0 + 0.004
    for _ in range(60):
        clocks.monotonic += 0.173
        clocks.call(clock)
    # Once the Date has ticked over between calls, to within a round trip or so: then the
    # middle of what is left is the estimate.
    assert clock.uncertainty < 0.05
    earliest, latest = clock.bounds()
    assert earliest <= clocks.table_now() <= latest
    assert clock.latest_now() == clock.earliest_now() == pytest.approx((earliest + latest) / 2)


def test_slots_booked_and_waited_for_err_on_the_safe_side():
    """A slot is booked no earlier than the table's time can be, and waited for until the
    table's time has surely reached it."""
    clocks = Clocks(skew=-4.0)  # behind: its own time would book slots in the past
    clock = clocks.clock()
    clocks.call(clock)
    slot = clock.latest_now()
    assert slot >= clocks.table_now()
    waited_until = clock.to_monotonic(slot)
    assert TABLE_EPOCH + waited_until >= slot  # by then the table's time has reached it


def test_a_clock_that_jumps_starts_the_estimate_afresh():
    """A container restored from a snapshot (SnapStart) has a monotonic clock that no longer
    agrees with what it measured before: the first answer that contradicts it wins."""
    clocks = Clocks(skew=5.0)
    clock = clocks.clock()
    for _ in range(20):
        clocks.monotonic += 0.31
        clocks.call(clock)
    clocks.epoch += 3600.0  # an hour passed that the monotonic clock did not see
    clocks.call(clock)
    assert clock.earliest_now() <= clocks.table_now() <= clock.latest_now()
    assert clock.uncertainty <= 1.01


def test_an_answer_without_a_readable_date_changes_nothing():
    clocks = Clocks(skew=2.0)
    clock = clocks.clock()
    clock.observe(1.0, 1.1, None)
    clock.observe(1.0, 1.1, "not a date")
    assert not clock.known


@given(
    skew=st.floats(min_value=-60, max_value=60),
    gaps=st.lists(st.floats(min_value=0.001, max_value=3.0), min_size=1, max_size=40),
    trips=st.lists(st.floats(min_value=0.0005, max_value=0.5), min_size=1, max_size=40),
)
def test_the_tables_time_is_always_within_the_bounds(skew, gaps, trips):
    """Whatever the skew and the round trips, the answers never rule the truth out, and a
    clock they rule out is never used."""
    clocks = Clocks(skew=skew)
    clock = clocks.clock()
    for gap, trip in zip(gaps, trips, strict=False):
        clocks.monotonic += gap
        clocks.call(clock, round_trip=trip)
        earliest, latest = clock.bounds()
        assert earliest - 1e-6 <= clocks.table_now() <= latest + 1e-6
        assert earliest - 1e-6 <= clock.earliest_now() <= clock.latest_now() <= latest + 1e-6


@pytest.mark.parametrize("skew", [-30.0, 0.7, 4.2])
def test_calibrating_narrows_the_estimate_in_a_few_timed_reads(skew):
    """Reads timed so that the table's Date ticks over mid-interval: each halves it."""
    from lookups.pacing.table_clock import MAX_PROBES, PRECISION_SECONDS

    clocks = Clocks(skew=skew)
    clock = clocks.clock()
    clocks.call(clock)
    probes: list[float] = []

    def probe() -> None:
        probes.append(clocks.monotonic)
        clocks.call(clock, round_trip=0.01)

    def sleep(seconds: float) -> None:
        clocks.monotonic += seconds

    clock.calibrate(probe, sleep)
    assert clock.uncertainty <= PRECISION_SECONDS
    assert len(probes) <= MAX_PROBES
    assert probes[-1] - probes[0] < MAX_PROBES  # about a second per read at most
    assert abs(clock.latest_now() - clocks.table_now()) <= PRECISION_SECONDS
    assert abs(clock.earliest_now() - clocks.table_now()) <= PRECISION_SECONDS
    clock.calibrate(probe, sleep)  # once per clock
    assert len(probes) <= MAX_PROBES


def test_calibration_ends_when_the_table_fails():
    clocks = Clocks()
    clock = clocks.clock()
    clocks.call(clock)

    def probe() -> None:
        raise RuntimeError("the table is gone")

    clock.calibrate(probe, lambda seconds: None)
    assert clock.uncertainty > 0.5  # nothing learnt, nothing raised
