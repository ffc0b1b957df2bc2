"""Pooled `requests` sessions whose retries (urllib3's) never outlive the invocation.

urllib3's Retry already knows which answers to retry and honours Retry-After; what it cannot
know is the Lambda's remaining time. The deadline of the request in flight travels in a
ContextVar (each lookup runs in its own worker thread), and DeadlineRetry gives up as soon as
the next wait plus another attempt would not fit.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from deadlines import Deadline
from lookup_results import LookupFailed

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 2.0
# Below this an attempt cannot succeed; better to give up and forward the event.
MIN_ATTEMPT_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class _Budget:
    deadline: Deadline
    attempt_timeout: float


_budget: ContextVar[_Budget | None] = ContextVar("request_budget", default=None)


class DeadlineRetry(Retry):
    """urllib3 Retry with equal-jitter backoff from the first retry, bounded by the deadline."""

    def get_backoff_time(self) -> float:
        ceiling = self._backoff_ceiling()
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto

    def _backoff_ceiling(self) -> float:
        history = reversed(self.history)
        failures = len(list(takewhile(lambda h: h.redirect_location is None, history)))
        if failures == 0:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1))

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> DeadlineRetry:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        budget = _budget.get()
        if budget is None:
            return retry
        retry_after = retry.get_retry_after(response) if response is not None else None
        wait = retry._backoff_ceiling() if retry_after is None else retry_after
        if not budget.deadline.allows(wait + budget.attempt_timeout):
            # For an answer (429/5xx) urllib3 hands back that answer; for an error, re-raises it.
            reason = error or ResponseError("no time left to retry before the deadline")
            raise MaxRetryError(_pool, url, reason) from reason
        return retry


def build_session(*, pool_size: int, max_attempts: int) -> requests.Session:
    """One per API per container: connections are reused across invocations."""
    retry = DeadlineRetry(
        total=max_attempts - 1,
        status_forcelist=RETRYABLE_STATUSES,
        # POST is safe to retry here: the sales API's lookups carry an Idempotency-Key.
        allowed_methods=frozenset({"GET", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        redirect=False,
        backoff_factor=BACKOFF_BASE_SECONDS,
        backoff_max=BACKOFF_MAX_SECONDS,
    )
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=retry)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # no proxy or .netrc surprises from the environment
    return session


@dataclass(frozen=True, slots=True)
class ApiConnection:
    """Where an API is, how to authenticate, and the pooled session to reach it with."""

    base_url: str
    api_key: Callable[[], str | None]  # read per request, so that a rotated key is picked up
    session: requests.Session
    timeout: float

    def send(
        self, method: str, url: str, *, deadline: Deadline, **kwargs: Any
    ) -> requests.Response:
        return send(self.session, method, url, deadline=deadline, timeout=self.timeout, **kwargs)


@contextmanager
def _within(deadline: Deadline, attempt_timeout: float) -> Iterator[None]:
    token = _budget.set(_Budget(deadline, attempt_timeout))
    try:
        yield
    finally:
        _budget.reset(token)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    deadline: Deadline,
    timeout: float,
    **kwargs: Any,
) -> requests.Response:
    """Send with retries inside the deadline; transport failures raise LookupFailed."""
    attempt_timeout = min(timeout, deadline.remaining())
    if attempt_timeout < MIN_ATTEMPT_SECONDS:
        raise LookupFailed("deadline_exceeded", "no time left for the lookup")
    try:
        with _within(deadline, attempt_timeout):
            return session.request(method, url, timeout=attempt_timeout, **kwargs)
    except requests.RequestException as exc:
        raise LookupFailed(*_describe(exc)) from None


def _describe(exc: requests.RequestException) -> tuple[str, str]:
    """A code and a message that name the failure without echoing URLs or headers."""
    if isinstance(exc, requests.Timeout):
        return "timeout", "the API did not answer in time"
    reason = exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else None
    if isinstance(reason, ReadTimeoutError):
        return "timeout", "the API did not answer in time"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | ProtocolError) or isinstance(
        reason, ProtocolError
    ):
        return "connection_error", "the connection broke while reading the answer"
    if isinstance(exc, requests.ConnectionError):
        return "connection_error", "could not connect to the API"
    return "request_failed", type(exc).__name__


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 429: "rate_limited"}


def unexpected_answer(api: str, response: requests.Response) -> LookupFailed:
    """An HTTP answer the lookup cannot use, once retries (where they apply) are spent."""
    status = response.status_code
    code = _STATUS_CODES.get(status) or ("unavailable" if status >= 500 else f"http_{status}")
    return LookupFailed(code, f"{api} answered HTTP {status}")
