"""What an API's rate-limit headers say, read leniently: a value that is not what the standard
allows is treated as absent, never as an error and never as a reason to wait for ever.

- `Retry-After` (RFC 9110, section 10.2.3): `delay-seconds` (1*DIGIT) or an HTTP-date. `abc`,
  `1.5`, `-1`, an empty value or an unparsable date are absent; a delay past the sales API's
  documented maximum of 15 minutes is that maximum; a date in the past is 0.
- `RateLimit-Remaining` and `RateLimit-Reset` (OpenMRP's gateway sends them on every answer:
  docs/sales-api.md): whole non-negative numbers. `Remaining: 0` says the window is full until
  `Reset` seconds from now (whole seconds, rounded down by the gateway, so `0` means "within a
  second").
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC

# The sales API's longest Retry-After (OpenMRP: 1.5^n seconds, capped at 15 minutes).
MAX_RETRY_AFTER_SECONDS = 900.0
# A 429 without a usable Retry-After: the API's first Retry-After, 1 s.
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 1.0
# RateLimit-Reset past this is not a window this function paces for: held to it.
MAX_RESET_SECONDS = 60.0
# RFC 9110 delay-seconds, with the whitespace RFC 9110 allows around a field value.
_DELAY_SECONDS = re.compile(r"[ \t]*([0-9]+)[ \t]*", re.ASCII)
_WHOLE_NUMBER = re.compile(r"[ \t]*([0-9]{1,12})[ \t]*", re.ASCII)


def retry_after_seconds(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait, at most MAX_RETRY_AFTER_SECONDS; None when absent or malformed."""
    if value is None:
        return None
    delay = _DELAY_SECONDS.fullmatch(value)
    if delay:
        return min(float(delay.group(1)), MAX_RETRY_AFTER_SECONDS)
    if not any(c.isalpha() for c in value):  # "1.5", "-1", "": not a delay, not a date
        return None
    try:  # a real date and time (day 32 or hour 99 is not one), GMT when it names no zone
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    seconds = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() - now()
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


def window_full_for(headers: Mapping[str, str]) -> float | None:
    """Seconds until the API's window has room again, when `RateLimit-Remaining` says it has
    none left; None when it has room or the headers say nothing usable."""
    remaining = _whole_number(headers.get("RateLimit-Remaining"))
    if remaining != 0:
        return None
    reset = _whole_number(headers.get("RateLimit-Reset"))
    return 0.0 if reset is None else min(float(reset), MAX_RESET_SECONDS)


def _whole_number(value: str | None) -> int | None:
    match = _WHOLE_NUMBER.fullmatch(value) if value is not None else None
    return int(match.group(1)) if match else None
