"""Paces every container's requests to one API together, on a schedule kept in DynamoDB
(PACING_TABLE), so that the whole fleet stays under the API's limit.

Each container books blocks of slots from the shared schedule (schedule.py) and hands
them to its lookup threads in order; a thread sleeps until its slot and sends. The schedule
runs below the limit (HEADROOM) because the API counts arrivals, not slots: a request written
at its slot still arrives a little late, by a varying amount, so arrivals bunch up. A block is
what the batch is known to need (`expect`), at most BLOCK_SECONDS of slots, and never a slot
past the lookup's latest moment: one DynamoDB call books a batch's requests.

A 429, or an answer saying the API's window is full, pauses the fleet: the schedule moves past
the pause's end for everyone. When the table cannot be used (missing, wrong key schema,
throttled, slow, unreachable), the container falls back to pacing itself at the limit divided
by how many containers may run at once (PACING_FALLBACK_CONTAINERS), logs that once at ERROR
naming PACING_TABLE, counts every request paced that way (PacingFallbacks), and tries the table
again after a cool-down. No call to the table outlives the lookup's own deadline.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from lookups.pacing.container_pacer import PacingExceeded, RequestPacer
from lookups.pacing.schedule import (
    FullUntil,
    PacingSchedule,
    ScheduleContended,
    ScheduleUnavailable,
)
from lookups.pacing.table_clock import TableClock
from platform_services.deadlines import Deadline
from platform_services.observability import Metric, logger

# The fleet's schedule runs at this share of the API's limit (see the module docstring; the
# figure is measured in `make bench`'s fleet scenario, docs/benchmarks.md).
HEADROOM = 0.92
# A booked block holds at most this much of the schedule.
BLOCK_SECONDS = 5.0
# A booked slot that a thread reaches later than this share of an interval is not used: sent
# that late, it would bunch up with the slots after it (booked by other containers).
LATE_SLOT_INTERVALS = 0.5
# The most one call to the table may take (its own limits are aws_calls.PACING's).
CALL_SECONDS = 1.0
# After a fault, the table is left alone for this long.
COOL_DOWN_SECONDS = 30.0
FALLBACK_METRIC = str(Metric.PACING_FALLBACKS)
CALLS_METRIC = str(Metric.PACING_TABLE_CALLS)


class FleetPacer:
    def __init__(
        self,
        schedule: PacingSchedule,
        clock: TableClock,
        *,
        fallback: RequestPacer,
        table: str,
        api: str,
        requests_per_second: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._schedule = schedule
        self._clock = clock
        self._fallback = fallback
        self._table = table
        self._api = api
        self._block = max(1, math.floor(requests_per_second * HEADROOM * BLOCK_SECONDS))
        self._sleep = sleep
        self._held: deque[float] = deque()  # booked slots not yet used, table time, in order
        self._expected = 0  # requests announced by `expect` that have not taken a slot yet
        self._waiting = 0  # threads in take_slot
        self._booking = False  # one thread talks to the table at a time; the others wait
        self._changed = threading.Condition()
        self._paused_until = -math.inf  # table time
        self._pauses = 0
        self._table_unusable_until = -math.inf  # monotonic time
        self._fault_reported = False
        self._totals: Counter[str] = Counter()  # since the container started
        self._reported: Counter[str] = Counter()  # what `counts` has handed out

    @property
    def schedule(self) -> PacingSchedule:
        return self._schedule

    # --- Pacer ------------------------------------------------------------------------------------
    def take_slot(self, latest: float) -> None:
        if self._clock.monotonic() < self._table_unusable_until:
            return self._take_fallback_slot(latest)
        with self._changed:
            self._waiting += 1
        try:
            self._take_booked_slot(latest)
        finally:
            with self._changed:
                self._waiting -= 1

    def pause(self, seconds: float, *, latest: float | None = None) -> None:
        self._fallback.pause(seconds)
        until = self._clock.latest_now() + seconds
        with self._changed:
            if until <= self._paused_until:
                return
            self._paused_until = until
            self._pauses += 1
            while self._held and self._held[0] < until:
                self._held.popleft()  # booked before the pause: not to be used
        now = self._clock.monotonic()
        if now < self._table_unusable_until:
            return
        try:
            self._schedule.pause_until(until, self._call_deadline(latest or now + CALL_SECONDS))
        except ScheduleUnavailable as unavailable:
            if not unavailable.out_of_time:
                self._fault(unavailable)
        except Exception as unexpected:  # called from a retry: it must not fail the lookup
            self._fault(ScheduleUnavailable(type(unexpected).__name__))

    def window_full(self, seconds: float, *, latest: float | None = None) -> None:
        self.pause(max(seconds, self._schedule.interval), latest=latest)

    def expect(self, requests: int) -> None:
        with self._changed:
            self._expected = max(0, requests)

    def known_wait(self) -> float:
        if self._clock.monotonic() < self._table_unusable_until:
            return self._fallback.known_wait()
        now = self._clock.earliest_now()
        with self._changed:
            if self._held:
                return max(0.0, self._held[0] - now)
            ends = [self._paused_until, self._schedule.known_tat or -math.inf]
        return max(0.0, *(end - now for end in ends))

    def counts(self) -> dict[str, int]:
        with self._changed:
            totals = self.totals()
            counts = {name: n - self._reported[name] for name, n in totals.items()}
            self._reported = Counter(totals)
        return {name: n for name, n in counts.items() if n}

    def totals(self) -> dict[str, int]:
        """Counts since the container started: DynamoDB calls, requests paced alone."""
        return {**self._totals, CALLS_METRIC: self._schedule.calls_made}

    # --- slots ------------------------------------------------------------------------------------
    def _take_booked_slot(self, latest: float) -> None:
        while True:
            fallback = False
            with self._changed:
                slot = self._next_held_slot()
                while slot is None and self._booking:
                    self._changed.wait(timeout=CALL_SECONDS)
                    slot = self._next_held_slot()
                if slot is None and self._clock.monotonic() < self._table_unusable_until:
                    fallback = True  # the booking this thread waited for found a fault
                elif slot is None:
                    self._booking = True
                    wanted = min(self._block, max(1, self._expected, self._waiting))
                pauses = self._pauses
            if fallback:
                return self._take_fallback_slot(latest)
            if slot is None:
                if not self._book(wanted, latest):
                    return self._take_fallback_slot(latest)
                continue
            wait_until = self._clock.to_monotonic(slot)
            now = self._clock.monotonic()
            if wait_until > now and wait_until > latest:
                with self._changed:
                    self._held.appendleft(slot)  # kept for a request with more time
                raise PacingExceeded(wait_until - now)
            if wait_until > now:
                self._sleep(wait_until - now)
            with self._changed:
                if self._pauses == pauses or slot >= self._paused_until:
                    return
            # A 429 paused the fleet while this thread slept: the slot is gone; queue again.

    def _next_held_slot(self) -> float | None:
        """The earliest usable booked slot, taken off the list (the caller holds the lock)."""
        stale = self._clock.earliest_now() - LATE_SLOT_INTERVALS * self._schedule.interval
        while self._held and (self._held[0] < stale or self._held[0] < self._paused_until):
            self._held.popleft()
        if not self._held:
            return None
        self._expected = max(0, self._expected - 1)
        return self._held.popleft()

    def _book(self, wanted: int, latest: float) -> bool:
        """Books a block into `_held`; False when the table could not be used (fallback)."""
        try:
            if not self._clock.known:
                self._schedule.look(self._call_deadline(latest))  # the table's time, first
                threading.Thread(target=self._calibrate, daemon=True).start()
            booked = self._schedule.book(
                wanted, self._clock.to_table(latest), self._call_deadline(latest)
            )
        except ScheduleUnavailable as unavailable:
            if not unavailable.out_of_time:
                self._fault(unavailable)
            return self._done_booking(False)
        except ScheduleContended:
            return self._done_booking(False)
        except Exception as unexpected:  # an answer nothing foresaw: a fault, not a crash
            self._fault(ScheduleUnavailable(type(unexpected).__name__))
            return self._done_booking(False)
        self._recovered()
        if isinstance(booked, FullUntil):
            self._done_booking(True)
            now = self._clock.earliest_now()
            raise PacingExceeded(max(0.0, booked.until - now))
        with self._changed:
            self._held.extend(slot for slot in booked.slots() if slot >= self._paused_until)
        return self._done_booking(True)

    def _calibrate(self) -> None:
        def probe() -> None:
            self._schedule.look(Deadline.in_seconds(CALL_SECONDS))

        self._clock.calibrate(probe, self._sleep)

    def _done_booking(self, used_table: bool) -> bool:
        with self._changed:
            self._booking = False
            self._changed.notify_all()
        return used_table

    def _take_fallback_slot(self, latest: float) -> None:
        with self._changed:
            self._totals[FALLBACK_METRIC] += 1
        self._fallback.take_slot(latest)

    def _call_deadline(self, latest: float) -> Deadline:
        return Deadline(min(latest, self._clock.monotonic() + CALL_SECONDS))

    # --- faults -----------------------------------------------------------------------------------
    def _fault(self, unavailable: ScheduleUnavailable) -> None:
        self._table_unusable_until = self._clock.monotonic() + COOL_DOWN_SECONDS
        if self._fault_reported:
            return
        self._fault_reported = True
        logger.error(
            "PACING_TABLE cannot be used: this container paces its own requests",
            extra={
                "variable": "PACING_TABLE",
                "table": self._table,
                "api": self._api,
                "error": unavailable.reason,
                "requests_per_second": self._fallback.requests_per_second,
                "retry_in_seconds": COOL_DOWN_SECONDS,
            },
        )

    def _recovered(self) -> None:
        if self._fault_reported:
            self._fault_reported = False
            logger.info(
                "PACING_TABLE can be used again: the fleet's schedule paces this container",
                extra={"variable": "PACING_TABLE", "table": self._table, "api": self._api},
            )


def fallback_rate(rate: float, containers: int) -> float:
    """Each container's share of `rate` when they cannot share a schedule: whole requests per
    second where there is at least one each, so that evenly spaced requests never put more than
    that share into any second (at 6.1 a second, 7 can fall into one; at 6, never more than 6),
    and the containers together never more than `rate`."""
    share = rate / containers
    return float(math.floor(share)) if share >= 1 else share


def fleet_pacer(
    client: Callable[[], Any],
    clock: TableClock,
    *,
    table: str,
    api: str,
    base_url: str,
    requests_per_second: float,
    containers: int,
) -> FleetPacer:
    """The pacer of one API for this container: the schedule is the API's (by name and host),
    so that deployments calling the same API through one table share it."""
    rate = requests_per_second * HEADROOM
    key = f"pacing#{api}#{urlsplit(base_url).netloc}"
    return FleetPacer(
        PacingSchedule(client, table, key, 1 / rate, clock),
        clock,
        fallback=RequestPacer(fallback_rate(rate, containers), spaced=True),
        table=table,
        api=api,
        requests_per_second=requests_per_second,
    )
