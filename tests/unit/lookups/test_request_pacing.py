"""The pacer's arithmetic, on a clock the test moves (the real-time behaviour is measured against
the rate-limited sandbox in tests/integration/test_rate_limits.py and in `make bench`)."""

from __future__ import annotations

import itertools
import math
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookups.pacing.container_pacer import WINDOW_MARGIN_SECONDS, PacingExceeded, RequestPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def pacer(rate: float) -> tuple[RequestPacer, FakeClock]:
    clock = FakeClock()
    return RequestPacer(rate, clock=clock, sleep=clock.sleep), clock


def test_a_burst_up_to_the_limit_goes_at_once():
    paced, clock = pacer(20)
    for _ in range(20):
        paced.take_slot(latest=clock.now + 10)
    assert clock.now == 1000.0


def test_the_next_request_waits_for_the_window_to_slide():
    paced, clock = pacer(20)
    for _ in range(20):
        paced.take_slot(latest=clock.now + 10)
    paced.take_slot(latest=clock.now + 10)
    assert clock.now == pytest.approx(1000.0 + 1.0 + WINDOW_MARGIN_SECONDS)


@given(
    rate=st.floats(min_value=0.5, max_value=50),
    gaps=st.lists(st.floats(min_value=0, max_value=0.3), min_size=1, max_size=200),
)
def test_no_window_ever_holds_more_than_the_limit(rate, gaps):
    """Whatever the arrival pattern, no window of limit/rate seconds holds more than `limit`."""
    paced, clock = pacer(rate)
    sent = []
    for gap in gaps:
        clock.now += gap
        paced.take_slot(latest=clock.now + 1e9)
        sent.append(clock.now)
    window = paced.window - WINDOW_MARGIN_SECONDS
    for i, start in enumerate(sent):
        in_window = [t for t in sent[i:] if t < start + window + 1e-9]
        assert len(in_window) <= paced.limit


def test_a_fractional_rate_is_whole_requests_over_a_longer_window():
    paced, _ = pacer(2.5)
    assert paced.limit == 2
    assert paced.window == pytest.approx(0.8 + WINDOW_MARGIN_SECONDS)


def test_a_slot_past_the_latest_moment_is_refused_and_not_taken():
    paced, clock = pacer(1)
    paced.take_slot(latest=clock.now)
    with pytest.raises(PacingExceeded) as refused:
        paced.take_slot(latest=clock.now + 0.5)
    assert refused.value.wait_seconds == pytest.approx(1 + WINDOW_MARGIN_SECONDS)
    paced.take_slot(latest=clock.now + 5)  # the refused request took no slot
    assert clock.now == pytest.approx(1000 + 1 + WINDOW_MARGIN_SECONDS)


def test_a_free_slot_is_taken_however_late_the_latest_moment():
    paced, clock = pacer(1)
    paced.take_slot(latest=clock.now - 1)  # no wait: nothing to refuse
    with pytest.raises(PacingExceeded):
        paced.take_slot(latest=clock.now - 1)


def test_a_pause_holds_every_request_until_it_ends():
    paced, clock = pacer(100)
    paced.pause(3)
    with pytest.raises(PacingExceeded):
        paced.take_slot(latest=clock.now + 2)
    paced.take_slot(latest=clock.now + 5)
    assert clock.now == pytest.approx(1003)
    paced.pause(1)
    paced.pause(0.5)  # a shorter pause never cuts a longer one short
    paced.take_slot(latest=clock.now + 5)
    assert clock.now == pytest.approx(1004)


def test_a_pause_that_begins_while_waiting_sends_the_waiter_back_in_the_queue():
    """A thread asleep until its slot when a 429 arrives does not send at that slot."""
    clock = FakeClock()
    paced: RequestPacer

    def sleep_through_a_429(seconds: float) -> None:
        clock.sleep(seconds)
        if not paused:
            paused.append(clock.now)
            paced.pause(5)  # another thread's answer, while this one slept

    paused: list[float] = []
    paced = RequestPacer(1, clock=clock, sleep=sleep_through_a_429)
    paced.take_slot(latest=clock.now + 100)  # free: taken at once, at 1000
    paced.take_slot(latest=clock.now + 100)  # waits for 1001.05, wakes into the pause
    assert clock.now == pytest.approx(paused[0] + 5)


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        RequestPacer(0)


@pytest.mark.slow  # real waits of a second or more
def test_threads_share_the_limit():
    """Real threads, real clock: 90 requests at 50/s from 6 threads fill one window at once,
    and the other 40 wait for it to slide."""
    paced = RequestPacer(50)
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(15):
            paced.take_slot(latest=time.monotonic() + 10)
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.sort()
    assert len(sent) == 90
    assert sent[49] - sent[0] < 0.5 * paced.window  # the first 50 did not wait
    assert sent[50] - sent[0] >= paced.window - 0.01  # the 51st waited for the window
    for i, start in enumerate(sent):
        assert len([t for t in sent[i:] if t < start + 1.0]) <= 50


def test_a_spaced_pacer_never_bursts():
    """The fallback of a fleet's containers: one request every 1/rate seconds, so that the
    bursts of several containers never add up."""
    clock = FakeClock()
    paced = RequestPacer(4.5, spaced=True, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(10):
        paced.take_slot(latest=clock.now + 100)
        sent.append(clock.now)
    assert [round(b - a, 6) for a, b in itertools.pairwise(sent)] == [round(1 / 4.5, 6)] * 9


@pytest.mark.parametrize(
    ("rate", "containers", "share"),
    [(18.4, 1, 18.0), (18.4, 3, 6.0), (18.4, 4, 4.0), (18.4, 5, 3.0), (18.4, 20, 0.92)],
)
def test_containers_pacing_alone_never_add_up_to_more_than_the_rate(rate, containers, share):
    """Evenly spaced at r a second, a container can put ceil(r) requests into one second (7 at
    6.1): its share is whole requests, so that the fleet's worst second stays within the rate."""
    from lookups.pacing.fleet_pacer import fallback_rate

    assert fallback_rate(rate, containers) == pytest.approx(share)
    assert containers * math.ceil(fallback_rate(rate, containers)) <= max(rate, containers)
