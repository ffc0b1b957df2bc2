"""The sales API's rate limiter, as OpenMRP's gateway implements it, for the sandboxes.

Read from OpenMRP's published gateway source (github.com/open-mrp/api,
internal/middleware/rate_limit_middleware.go and shared/retry/retry.go):

- an in-memory sliding-window log per client IP: a request is allowed when fewer than `limit`
  allowed requests arrived in the last `window` seconds; refused requests are not recorded;
- every limited answer carries `RateLimit-Limit`, `RateLimit-Remaining` (after this request)
  and `RateLimit-Reset` (whole seconds until the oldest request leaves the window);
- a refusal is a 429 with `Retry-After` in whole seconds: 1.5^n seconds for the n-th refusal in
  a row, capped at 15 minutes, ±10 % jitter, at least 1 s. The count goes back to zero with the
  next allowed request, and nothing stops that request: the growing Retry-After is advice, but
  a client that follows it (as the SDKs do, uncapped) waits up to a quarter of an hour.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RateLimitSettings:
    enabled: bool = True
    limit: int = 20
    window_seconds: float = 1.0
    first_retry_after: float = 1.0  # multiplied by growth^n for the n-th refusal in a row
    growth: float = 1.5
    max_retry_after: float = 900.0
    jitter: float = 0.1

    def updated(self, changes: dict[str, Any]) -> RateLimitSettings:
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise KeyError(f"unknown rate-limit settings: {', '.join(sorted(unknown))}")
        merged = {**asdict(self), **changes}
        settings = RateLimitSettings(
            enabled=bool(merged["enabled"]),
            limit=int(merged["limit"]),
            **{k: float(merged[k]) for k in asdict(self) if k not in ("enabled", "limit")},
        )
        if settings.limit < 1 or settings.window_seconds <= 0:
            raise ValueError("limit must be at least 1 and window_seconds positive")
        return settings


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after: int | None = None


@dataclass
class _Client:
    allowed: deque[float] = field(default_factory=deque)
    refusals_in_a_row: int = 0


class SlidingWindowLimiter:
    def __init__(self, settings: RateLimitSettings) -> None:
        self.defaults = settings
        self.settings = settings
        self._clients: defaultdict[str, _Client] = defaultdict(_Client)
        self._lock = threading.Lock()
        self.refused = 0  # 429s answered since the last reset

    def configure(self, changes: dict[str, Any]) -> None:
        with self._lock:
            self.settings = self.settings.updated(changes)

    def reset(self) -> None:
        with self._lock:
            self.settings = self.defaults
            self._clients.clear()
            self.refused = 0

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                **asdict(self.settings),
                "refused": self.refused,
                "refusals_in_a_row": {k: c.refusals_in_a_row for k, c in self._clients.items()},
            }

    def check(self, client: str, now: float | None = None) -> Verdict | None:
        """None when the limiter is off; else whether the request may go, and its headers."""
        now = time.monotonic() if now is None else now
        with self._lock:
            settings = self.settings
            if not settings.enabled:
                return None
            state = self._clients[client]
            while state.allowed and state.allowed[0] <= now - settings.window_seconds:
                state.allowed.popleft()
            allowed = len(state.allowed) < settings.limit
            if allowed:
                state.allowed.append(now)
                state.refusals_in_a_row = 0
            else:
                state.refusals_in_a_row += 1
                self.refused += 1
            reset = int(state.allowed[0] + settings.window_seconds - now) if state.allowed else 0
            headers = {
                "RateLimit-Limit": str(settings.limit),
                "RateLimit-Remaining": str(max(0, settings.limit - len(state.allowed))),
                "RateLimit-Reset": str(max(0, reset)),
            }
            if allowed:
                return Verdict(True, headers)
            retry_after = _retry_after(settings, state.refusals_in_a_row)
            return Verdict(False, {**headers, "Retry-After": str(retry_after)}, retry_after)


def _retry_after(settings: RateLimitSettings, refusals: int) -> int:
    delay = min(settings.first_retry_after * settings.growth**refusals, settings.max_retry_after)
    delay *= 1 + random.uniform(-settings.jitter, settings.jitter)
    return max(1, math.floor(delay))
