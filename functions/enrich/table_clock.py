"""The pacing table's time, as one container knows it.

Containers schedule requests on one shared timeline, so their clocks must agree; when they do
not, the table's time decides. DynamoDB stamps every answer with an HTTP `Date` header (whole
seconds; botocore hands it over in ResponseMetadata.HTTPHeaders). A call sent at local time t0
and answered at t1 with `Date: D` was served at some table time in [D, D + 1), within [t0, t1]:
so the offset (table time - local monotonic time) lies in [D - t1, D + 1 - t0]. Intersecting
these intervals over the container's calls narrows the offset to about a round trip once the
`Date` has ticked over between two calls (a few seconds of traffic); a contradiction (the local
clock was stepped) starts the estimate afresh.

The container's own wall clock is used as it is while it lies inside that interval (the usual
case: Lambda's clocks are NTP-synchronised to well under a millisecond). Outside it, the
container's clock is wrong by more than the table can be measured, and the bounds are used
instead, each where it errs on the safe side: a slot is booked no earlier than the latest the
table's time can be, and waited for until the earliest it can be has reached it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from email.utils import mktime_tz, parsedate_tz


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

    def _offset(self, *, high: bool) -> float:
        local = self._wall() - self._monotonic()
        with self._lock:
            low, top = self._low, self._high
        if low <= local <= top:
            return local
        return top if high else low
