"""AWS clients whose calls never outlive the invocation: SQS, DynamoDB (Powertools' idempotency
persistence layer, the fleet's pacing schedule) and Secrets Manager (Powertools Parameters).

botocore's own Config bounds each attempt (connect and read timeouts) and the number of attempts
(standard retry mode: backoff with jitter, throttling handled). What it cannot know is the
Lambda's remaining time. That travels with the call in a ContextVar, as the API lookups' budget
does (http_session.py), and two handlers on each client's events read it:

- before each attempt is sent, its read timeout is cut to the time left (botocore reads a
  per-request `read_timeout` from the request context: boto/botocore#3770); with too little
  left, the call fails at once with OutOfTime, before anything is sent;
- a retry whose backoff plus a useful attempt would not fit is not made: a `needs-retry`
  handler registered first answers False, which botocore takes as "do not retry" and then
  raises the last attempt's own error.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from platform_services.deadlines import Deadline

# An attempt with less time than this to read its answer is not started.
MIN_READ_SECONDS = 0.1
# botocore's standard mode waits at most rand() * min(2 ** (attempt - 1), 20) s before a retry
# (throttling; other errors far less); when AWS sends x-amz-retry-after (milliseconds), that
# long instead, up to 5 s more (botocore/retries/standard.py, ExponentialBackoff).
_MAX_BACKOFF_SECONDS = 20.0
_RETRY_AFTER_MAX_EXTRA_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Per service: the most one attempt may take, and how many attempts a call may make."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int  # the first one included

    @property
    def shortest_attempt(self) -> float:
        """Less time than this left, and no attempt is started."""
        return self.connect_timeout + MIN_READ_SECONDS

    def config(self, max_pool_connections: int) -> Config:
        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            max_pool_connections=max_pool_connections,
        )


# In-region calls connect (TCP and TLS) and answer in milliseconds; these bound a bad day, not a
# normal one. The connect timeout is kept small because every attempt must leave room for it.
SQS = CallLimits(connect_timeout=0.3, read_timeout=2.0, max_attempts=3)
DYNAMODB = CallLimits(connect_timeout=0.3, read_timeout=1.0, max_attempts=3)
SECRETS_MANAGER = CallLimits(connect_timeout=0.3, read_timeout=2.0, max_attempts=3)
# The fleet's pacing schedule is asked before requests are sent: a slow or failing table must
# cost a lookup little before the pacer falls back to pacing the container alone.
PACING = CallLimits(connect_timeout=0.25, read_timeout=0.5, max_attempts=2)


class OutOfTime(BotoCoreError):
    fmt = "no time left for {operation} before the invocation's deadline"


_deadline: ContextVar[Deadline | None] = ContextVar("aws_call_deadline", default=None)


@contextmanager
def within(deadline: Deadline | None) -> Iterator[None]:
    """AWS calls made in this block (in this thread, or in tasks given a copy of its context)
    end by `deadline`. None keeps whatever deadline is already in force."""
    if deadline is None:
        yield
        return
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


# One botocore session for the container's clients. botocore rather than boto3 (whose clients
# are botocore's): importing boto3 also imports s3transfer and multiprocessing, ~30 ms of every
# cold start for nothing this function uses. Sessions are not thread-safe: clients are made
# under a lock (the Secrets Manager client is made by the first lookup thread that needs it).
_session: botocore.session.Session | None = None
_session_lock = threading.Lock()


def client(service: str, limits: CallLimits, *, max_pool_connections: int = 10) -> Any:
    """A client bounded by `limits` and by the deadline in force when it is called. Region,
    credentials and endpoint come from the environment, as for boto3.client."""
    global _session
    with _session_lock:
        if _session is None:
            _session = botocore.session.get_session()
        made = _session.create_client(service, config=limits.config(max_pool_connections))
    hooks = _DeadlineHooks(limits)
    events = made.meta.events
    name = made.meta.service_model.service_id.hyphenize()
    events.register_first(f"needs-retry.{name}", hooks.refuse_late_retry)
    events.register(f"before-send.{name}", hooks.fit_attempt)
    return made


@dataclass(frozen=True, slots=True)
class _DeadlineHooks:
    limits: CallLimits

    def fit_attempt(self, request: Any, event_name: str = "", **_: Any) -> None:
        deadline = _deadline.get()
        if deadline is None:
            return
        # The connect timeout is the client's; what is left after it is the most the answer
        # may take.
        read = min(self.limits.read_timeout, deadline.remaining() - self.limits.connect_timeout)
        if read < MIN_READ_SECONDS:  # i.e. less than shortest_attempt left
            raise OutOfTime(operation=event_name.rsplit(".", 1)[-1] or "an AWS call")
        request.context["read_timeout"] = read

    def refuse_late_retry(self, attempts: int, response: Any = None, **_: Any) -> bool | None:
        deadline = _deadline.get()
        if deadline is None:
            return None
        backoff = _longest_backoff(attempts, response)
        if deadline.allows(backoff + self.limits.shortest_attempt):
            return None  # botocore decides, as it would without a deadline
        return False


def _longest_backoff(attempts: int, response: Any) -> float:
    """The longest botocore may wait before the next attempt."""
    ceiling = min(2.0 ** (attempts - 1), _MAX_BACKOFF_SECONDS)
    retry_after = response[0].headers.get("x-amz-retry-after") if response is not None else None
    try:
        asked = int(retry_after) / 1000 if retry_after is not None else 0.0
    except ValueError:  # botocore ignores a malformed value too
        asked = 0.0
    return max(ceiling, min(asked, ceiling + _RETRY_AFTER_MAX_EXTRA_SECONDS))
