"""An outage a sandbox API plays for a while: every API request is answered with one status (503
by default, in the API's own error envelope) until the time is up, then the API is normal again.

A fault script (POST /__sandbox/faults) fails the next N requests, however long they take to
come; an outage fails whatever arrives for S seconds, as a real one does, so that a client's
backoff meets it the way it would meet the real thing:

    curl -X PUT <sandbox>/__sandbox/outage -H 'Content-Type: application/json' \
      -d '{"seconds": 20, "status": 503}'
"""

from __future__ import annotations

import threading
import time
from typing import Any

STATUSES = range(500, 600)  # a server that is down; a 4xx would be the request's fault


class Outage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0  # time.monotonic()
        self._status = 503

    def start(self, seconds: float, status: int = 503) -> None:
        if not 0 <= seconds <= 24 * 60 * 60:
            raise ValueError("seconds must be from 0 to 86400")
        if status not in STATUSES:
            raise ValueError("status must be a 5xx")
        with self._lock:
            self._until = time.monotonic() + seconds
            self._status = status

    def step(self) -> dict[str, Any] | None:
        """The fault step a request plays now: the outage's answer, or None when it is over."""
        with self._lock:
            return {"status": self._status} if time.monotonic() < self._until else None

    def state(self) -> dict[str, Any]:
        with self._lock:
            left = max(0.0, self._until - time.monotonic())
            return {"active": left > 0, "seconds_left": round(left, 3), "status": self._status}

    def end(self) -> None:
        with self._lock:
            self._until = 0.0
