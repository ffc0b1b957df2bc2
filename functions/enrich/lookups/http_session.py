"""Pooled `requests` sessions whose retries (urllib3's) never outlive the invocation and never
run into an API's rate limit.

urllib3's Retry already knows which answers to retry and honours Retry-After; what it cannot
know is the Lambda's remaining time or how fast other threads are calling the same API. Both
travel with the request in a ContextVar (each lookup runs in its own worker thread):
DeadlineRetry gives up as soon as the next wait plus another attempt would not fit, and the
pool's connections take a slot from the API's pacer before writing each request. Rate-limit
headers are read leniently (rate_limit_headers.py): a malformed Retry-After is absent, so a 429
stays `rate_limit_exceeded` and still pauses the pacer, for the default wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from lookups.pacing import rate_limit_headers
from lookups.pacing.container_pacer import Pacer, PacingExceeded
from lookups.results import LookupFailed
from platform_services.deadlines import Deadline

# What both APIs mark transient: rate limited, or the server failed.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 2.0
# Sent with every lookup (some API front ends refuse requests that name no client).
USER_AGENT = f"webhook-enrichment/1 {requests.utils.default_user_agent()}"
# Below this an attempt cannot succeed; better to give up and forward the event.
MIN_ATTEMPT_SECONDS = 0.05
# Transport failures that pass with time (a queued record waits them out).
TRANSIENT_CODES = frozenset({"timeout", "connection_error"})


@dataclass(frozen=True, slots=True)
class _Budget:
    deadline: Deadline
    attempt_timeout: float
    pacer: Pacer | None

    def take_slot(self) -> None:
        """Waits for the API's next free request slot; raises PacingExceeded if waiting would
        leave too little time for a whole attempt before the deadline."""
        if self.pacer is not None:
            self.pacer.take_slot(self.deadline.expires_at - self.attempt_timeout)


_budget: ContextVar[_Budget | None] = ContextVar("request_budget", default=None)


class DeadlineRetry(Retry):
    """urllib3 Retry with equal-jitter backoff from the first retry, bounded by the deadline,
    and paced: every retry waits for its slot like a first attempt."""

    def get_backoff_time(self) -> float:
        ceiling = self._backoff_ceiling()
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto

    def _backoff_ceiling(self) -> float:
        history = reversed(self.history)
        failures = len(list(takewhile(lambda h: h.redirect_location is None, history)))
        if failures == 0:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1))

    def get_retry_after(self, response: Any) -> float | None:
        """Retry-After in seconds, capped at 15 minutes; malformed is absent (urllib3 would
        raise InvalidHeader, and the 429 would become a transport error)."""
        return rate_limit_headers.retry_after_seconds(response.headers.get("Retry-After"))

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> DeadlineRetry:
        budget = _budget.get()
        retry_after = self.get_retry_after(response) if response is not None else None
        pacer = budget.pacer if budget is not None else None
        if pacer is not None and response is not None and response.status == 429:
            # Every other request must wait too (the whole fleet's, with PACING_TABLE).
            default = rate_limit_headers.DEFAULT_RATE_LIMIT_WAIT_SECONDS
            latest = budget.deadline.expires_at if budget is not None else None
            pacer.pause(default if retry_after is None else retry_after, latest=latest)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if budget is None:
            return retry
        wait = retry._backoff_ceiling() if retry_after is None else retry_after
        if not budget.deadline.allows(wait + budget.attempt_timeout):
            # For an answer (429/5xx) urllib3 hands back that answer; for an error, re-raises it.
            reason = error or ResponseError("no time left to retry before the deadline")
            raise MaxRetryError(_pool, url, reason) from reason
        return retry


class _PacedConnection:
    """Takes the API's next request slot right before a request is written, for first attempts
    and urllib3's retries alike, once the connection is up: what the API counts is arrivals,
    and setting up a connection (TLS included) would make early requests arrive late."""

    sock: Any

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        budget = _budget.get()
        if budget is not None and budget.pacer is not None:
            if self.sock is None:
                self.connect()  # type: ignore[attr-defined]
            budget.take_slot()
        super().request(method, url, *args, **kwargs)  # type: ignore[misc]


class _PacedHTTPConnection(_PacedConnection, HTTPConnection):
    pass


class _PacedHTTPSConnection(_PacedConnection, HTTPSConnection):
    pass


class _PacedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PacedHTTPConnection


class _PacedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PacedHTTPSConnection


class _PacedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PacedHTTPPool, "https": _PacedHTTPSPool}


def build_session(
    *, pool_size: int, max_attempts: int, retry_statuses: Collection[int] = RETRYABLE_STATUSES
) -> requests.Session:
    """One per API per container: connections are reused across invocations."""
    retry = DeadlineRetry(
        total=max_attempts - 1,
        status_forcelist=frozenset(retry_statuses),
        # POST is safe to retry here: the sales API's lookups carry an Idempotency-Key.
        allowed_methods=frozenset({"GET", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        redirect=False,
        backoff_factor=BACKOFF_BASE_SECONDS,
        backoff_max=BACKOFF_MAX_SECONDS,
    )
    adapter = _PacedAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=retry)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # no proxy or .netrc surprises from the environment
    return session


@dataclass(frozen=True, slots=True)
class ApiConnection:
    """Where an API is, how to authenticate, the pooled session to reach it with, and the pacer
    that keeps the fleet (or this container) under the API's rate limit (None: no pacing)."""

    name: str  # in failure messages: "Minimo", "the sales API"
    base_url: str
    api_key: Callable[[], str | None]  # read per request, so that a rotated key is picked up
    session: requests.Session
    timeout: float
    pacer: Pacer | None = None

    def expect(self, requests: int) -> None:
        """A batch is about to look this many addresses up (the pacer books their slots)."""
        if self.pacer is not None:
            self.pacer.expect(requests)

    def blocked_for(self, deadline: Deadline) -> float | None:
        """How long the pacer is known to hold every request, when that is past the latest
        moment a request could start before `deadline`; else None. Asks no one."""
        if self.pacer is None:
            return None
        wait = self.pacer.known_wait()
        remaining = max(0.0, deadline.remaining())
        attempt = min(self.timeout, remaining)  # as `send` would give it
        return wait if wait > remaining - attempt else None

    def known_wait(self) -> float:
        return 0.0 if self.pacer is None else self.pacer.known_wait()

    def send(
        self,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> requests.Response:
        """Send with paced retries inside the deadline; transport failures, and waits that would
        not fit, raise LookupFailed. `url` must be complete and encoded (the clients build it)."""
        # Retries reuse this timeout: DeadlineRetry only retries when one more attempt fits.
        attempt_timeout = min(self.timeout, deadline.remaining())
        if attempt_timeout < MIN_ATTEMPT_SECONDS:
            raise LookupFailed("deadline_exceeded", "no time left for the lookup")
        # Prepared here and handed to the session's adapter (requests' own pool and urllib3's
        # retries): Session.request would re-parse the URL and merge environment settings,
        # cookies and hooks this function does not use, about half of each lookup's CPU.
        # The adapter never follows a redirect: it would re-send the address (and, for a
        # same-host one, the key) wherever the answer points.
        request = requests.PreparedRequest()
        request.method, request.url, request.body = method, url, body
        request.headers = CaseInsensitiveDict({"User-Agent": USER_AGENT, **headers})
        if body is not None:
            request.headers["Content-Length"] = str(len(body))
        request.hooks = {"response": []}
        try:
            with _within(_Budget(deadline, attempt_timeout, self.pacer)):
                response = self.session.get_adapter(url).send(request, timeout=attempt_timeout)
                response.content  # noqa: B018 - read now, inside the deadline
        except PacingExceeded as late:
            raise LookupFailed(
                "rate_limited",
                f"{self.name}'s rate limit leaves no request slot for {late.wait_seconds:.1f} s, "
                "past the time this invocation has left",
                deferrable=True,
                retry_after=late.wait_seconds,
            ) from None
        except requests.RequestException as exc:
            code, message = _describe(exc)
            raise LookupFailed(code, message, transient=code in TRANSIENT_CODES) from None
        if self.pacer is not None:
            full_for = rate_limit_headers.window_full_for(response.headers)
            if full_for is not None:  # no room left: hold off a little (the whole fleet)
                self.pacer.window_full(full_for, latest=deadline.expires_at)
        return response


@contextmanager
def _within(budget: _Budget) -> Iterator[None]:
    token = _budget.set(budget)
    try:
        yield
    finally:
        _budget.reset(token)


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
