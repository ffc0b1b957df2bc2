"""The pacing table's time, as one container knows it.

Containers schedule requests on one shared timeline, so their clocks must agree; when they do
not, the table's time decides. DynamoDB stamps every answer with an HTTP `Date` header (whole
seconds; botocore hands it over in ResponseMetadata.HTTPHeaders). A call sent at local time t0
and answered at t1 with `Date: D` was served at some table time in [D, D + 1), within [t0, t1]:
so the offset (table time - local monotonic time) lies in [D - t1, D + 1 - t0]. Intersecting
these intervals over the container's calls narrows the offset to about a round trip once the
`Date` has ticked over between two calls (a few seconds of traffic); a contradiction (the local
clock was stepped) starts the estimate afresh.

Narrowing is not left to chance: at its first booking a container calibrates, in the
background, with a few reads timed so that the table's `Date` should tick over halfway through
what is still unknown; each halves it (as htpdate does with web servers), until it is within
PRECISION_SECONDS.

The container's own wall clock is used as it is while it lies inside that interval (the usual
case: Lambda's clocks are NTP-synchronised to well under a millisecond). Outside it, the
container's clock is wrong by more than the table can be measured: once the interval is narrow,
its middle is used; while it is wide, its bounds, each where it errs on the safe side (a slot is
booked no earlier than the latest the table's time can be, and waited for until the earliest it
can be has reached it).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from email.utils import mktime_tz, parsedate_tz

# The table's time is known well enough once it is known to within this.
PRECISION_SECONDS = 0.05
MAX_PROBES = 8


class TableClock:
    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._low = -math.inf  # bounds on the offset: table time - monotonic time
        self._high = math.inf
        self._lock = threading.Lock()
        self._calibrating = False

    def monotonic(self) -> float:
        return self._monotonic()

    def observe(self, sent: float, received: float, date_header: str | None) -> None:
        """One call's evidence: sent and received in monotonic time, and its `Date` header."""
        parsed = parsedate_tz(date_header) if date_header else None
        if parsed is None:
            return
        served = float(mktime_tz(parsed))  # an HTTP-date is GMT
        low, high = served - received, served + 1 - sent
        with self._lock:
            if max(self._low, low) > min(self._high, high):  # the local clock moved: start over
                self._low, self._high = low, high
            else:
                self._low, self._high = max(self._low, low), min(self._high, high)

    @property
    def known(self) -> bool:
        """Whether any answer has told the table's time yet."""
        return math.isfinite(self._high)

    @property
    def uncertainty(self) -> float:
        """Width of the offset's interval, in seconds (inf before the first answer)."""
        return self._high - self._low

    def bounds(self) -> tuple[float, float]:
        """The earliest and latest the table's time can be now, by its answers alone."""
        now = self._monotonic()
        with self._lock:
            return now + self._low, now + self._high

    def latest_now(self) -> float:
        """The latest the table's time can be now: when a slot is booked from."""
        return self._monotonic() + self._offset(high=True)

    def earliest_now(self) -> float:
        """The earliest the table's time can be now: what a slot is waited for by."""
        return self._monotonic() + self._offset(high=False)

    def to_monotonic(self, table_time: float) -> float:
        """The monotonic time by which the table's time has surely reached `table_time`."""
        return table_time - self._offset(high=False)

    def to_table(self, monotonic_time: float) -> float:
        """The earliest table time that `monotonic_time` can be."""
        return monotonic_time + self._offset(high=False)

    def calibrate(self, probe: Callable[[], None], sleep: Callable[[float], None]) -> None:
        """Narrows the estimate with calls to the table (`probe` makes one, and its answer is
        observed), each timed so that the table's `Date` ticks over at the middle of the
        interval. Runs once per clock; a probe that fails ends it."""
        with self._lock:
            if self._calibrating:
                return
            self._calibrating = True
        round_trip = 0.02
        for _ in range(MAX_PROBES):
            with self._lock:
                low, high = self._low, self._high
            if not math.isfinite(high - low) or high - low <= PRECISION_SECONDS:
                return
            middle = (low + high) / 2
            now = self._monotonic()
            tick = math.ceil(now + middle + round_trip)  # the next whole second it can aim at
            sleep(max(0.0, tick - middle - round_trip / 2 - now))
            started = self._monotonic()
            try:
                probe()
            except Exception:  # the table's faults are the pacer's to report, not this loop's
                return
            round_trip = self._monotonic() - started

    def _offset(self, *, high: bool) -> float:
        local = self._wall() - self._monotonic()
        with self._lock:
            low, top = self._low, self._high
        if low <= local <= top:
            return local
        if top - low <= PRECISION_SECONDS:
            return (low + top) / 2
        return top if high else low
