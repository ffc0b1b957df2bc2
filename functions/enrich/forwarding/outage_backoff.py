"""How long a queued record waits before its next try while an API is failing: exponential
backoff with jitter, fitted to the receives its queue allows and to the window it may wait in.

A record may be received maxReceiveCount times; the last receive sends it out whatever it has
(outage_waits.py), so it can be handed back at most maxReceiveCount - 1 times, fewer when waits
for a rate limit or for time used some receives. Each hand-back waits the first term of a
geometric series, ratio GROWTH, that would spread what is left of the window over the
hand-backs left. It is worked out again at every receive, so a receive spent otherwise makes the
later waits longer, never the window shorter; and the last hand-back waits exactly until the
window ends, so that the last try comes at its end.

With the defaults (a 900 s window, 5 receives, a record first tried as it arrives), the nominal
waits are 10.6 s, 42 s, 169 s and 678 s: tries at about 0 s, 11 s, 53 s, 3.7 min and 15 min.
Jitter draws each wait but the last from [half, all] of it (equal jitter, as http_session's
retries do), so that records that failed together do not all come back together.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from forwarding import record_handback

GROWTH = 4.0
JITTER = 0.5  # a wait is drawn from [(1 - JITTER) x nominal, nominal]
# Beyond this many hand-backs the first term is below any wait worth making anyway (and the
# series' sum would overflow a float).
_MAX_TERMS = 60
# SQS holds a received message back at most 12 hours in all, counted from when it was received;
# the invocation has used some of that (at most Lambda's 15 minutes).
MAX_WAIT_SECONDS = record_handback.MAX_WAIT_SECONDS - 15 * 60
MIN_WAIT_SECONDS = record_handback.MIN_WAIT_SECONDS


def nominal_wait(window_left: float, hand_backs_left: int) -> float:
    """The wait before jitter: the series' first term; all of what is left for the last one."""
    if hand_backs_left <= 1:
        return window_left
    terms = min(hand_backs_left, _MAX_TERMS)
    return window_left * (GROWTH - 1) / (GROWTH**terms - 1)


def next_wait(
    window_left: float, hand_backs_left: int, draw: Callable[[], float] = random.random
) -> float:
    """Seconds until the record's next try: `window_left` of its window remains, and it may be
    handed back `hand_backs_left` more times (this one included)."""
    wait = nominal_wait(window_left, hand_backs_left)
    if hand_backs_left > 1:
        wait *= 1 - JITTER * draw()
    if math.isnan(wait):
        return float(MIN_WAIT_SECONDS)
    return min(float(MAX_WAIT_SECONDS), max(float(MIN_WAIT_SECONDS), wait))
