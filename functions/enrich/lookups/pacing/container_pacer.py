"""Paces one container's requests to one API so that they stay under its rate limit.

The sales API allows 20 requests per second per client in a sliding window and answers each
repeated violation with a Retry-After 1.5 times longer, up to 15 minutes: retrying into such a
limit makes it worse. So requests are spaced before they are sent: every thread of the
container that calls the API takes its slot here, first attempts and retries alike.

This is the pacer of a container alone (PACING_TABLE unset), and what a fleet's pacer falls
back to when its table cannot be used (fleet_pacer.py); both answer to `Pacer`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

# Slack added to the window: a request sent exactly one window after another may still arrive
# a little sooner (network jitter), and the API counts arrivals.
WINDOW_MARGIN_SECONDS = 0.05


class PacingExceeded(Exception):
    """The next free slot comes after the latest moment the request could still be sent."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"the next request slot is {wait_seconds:.2f} s away")
        self.wait_seconds = wait_seconds


class Pacer(Protocol):
    """What the HTTP session asks of a pacer. Times are `time.monotonic()` seconds."""

    def take_slot(self, latest: float) -> None:
        """Waits for the next request slot; raises PacingExceeded, taking nothing, when it
        would come after `latest`."""

    def pause(self, seconds: float, *, latest: float | None = None) -> None:
        """The API refused a request (429): nothing is sent for `seconds`. Telling others
        (the fleet's table) ends by `latest`."""

    def window_full(self, seconds: float, *, latest: float | None = None) -> None:
        """The API's answer said its window has no room left for `seconds` (RateLimit-*)."""

    def expect(self, requests: int) -> None:
        """About this many requests are about to ask for slots (a batch's lookups)."""

    def known_wait(self) -> float:
        """Seconds until a slot could be had, as far as this container knows without asking."""

    def counts(self) -> dict[str, int]:
        """Metric counts since the last call, by metric name."""


class RequestPacer:
    """At most `limit` requests in any window of `window` seconds (plus a margin): a sliding
    window log, the strictest reading of a sliding-window limit. A burst up to the limit goes at
    once, so a lone webhook never waits; a batch is spread over the windows it needs."""

    def __init__(
        self,
        requests_per_second: float,
        *,
        spaced: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`spaced`: one request every 1/rate seconds, never a burst (the fallback of a fleet's
        containers, whose bursts would add up)."""
        if not requests_per_second > 0:
            raise ValueError("requests_per_second must be positive")
        self.requests_per_second = requests_per_second
        if spaced:
            self.limit, self.window = 1, 1 / requests_per_second
        else:
            # Whole requests per window: 2.5/s is 2 per 0.8 s rather than 2.5 per second.
            self.limit = max(1, math.floor(requests_per_second))
            self.window = self.limit / requests_per_second + WINDOW_MARGIN_SECONDS
        self._slots: deque[float] = deque()  # slots taken, in order, some still ahead
        self._paused_until = 0.0
        self._pauses = 0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def take_slot(self, latest: float) -> None:
        """Takes the next free slot, waiting for it; raises PacingExceeded, taking nothing,
        when it would have to wait until after `latest` (a `clock()` time)."""
        while True:
            with self._lock:
                now = self._clock()
                while self._slots and self._slots[0] <= now - self.window:
                    self._slots.popleft()
                slot = max(now, self._paused_until)
                if len(self._slots) >= self.limit:
                    slot = max(slot, self._slots[-self.limit] + self.window)
                if slot > now and slot > latest:  # a free slot is always taken at once
                    raise PacingExceeded(slot - now)
                self._slots.append(slot)  # slots only move forward: the log stays sorted
                pauses = self._pauses
            if slot <= now:
                return
            self._sleep(slot - now)
            with self._lock:
                if self._pauses == pauses or self._paused_until <= slot:
                    return
                # The API said to wait while this thread slept: give the slot back, queue again.
                self._slots.remove(slot)

    def pause(self, seconds: float, *, latest: float | None = None) -> None:
        """The API said to wait (429 Retry-After): no thread sends before then."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self._pauses += 1

    def window_full(self, seconds: float, *, latest: float | None = None) -> None:
        """At least one request's spacing: `RateLimit-Reset: 0` means "within a second"."""
        self.pause(max(seconds, self.window / self.limit))

    def expect(self, requests: int) -> None:
        """Nothing to prepare: every slot is this container's own."""

    def known_wait(self) -> float:
        with self._lock:
            now = self._clock()
            slot = max(now, self._paused_until)
            live = [s for s in self._slots if s > now - self.window]
            if len(live) >= self.limit:
                slot = max(slot, live[-self.limit] + self.window)
            return slot - now

    def counts(self) -> dict[str, int]:
        return {}
