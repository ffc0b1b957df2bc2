"""Looks addresses up in both APIs at once and merges the answers into an enrichment."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any

from lookups.address_lookups import KnownAnswers, Lookups
from lookups.cache import LookupCache
from lookups.http_session import ApiConnection
from lookups.minimo_client import MinimoClient
from lookups.pacing.rate_limit_headers import DEFAULT_RATE_LIMIT_WAIT_SECONDS
from lookups.results import LookupFailure, MinimoResult, SalesResult
from lookups.sales_client import SalesClient
from platform_services.deadlines import Deadline
from platform_services.observability import count, logger, tracer
from platform_services.tracing import traced_lookup

# Time allowed past the lookup deadline for a worker to hand back its answer.
COLLECT_GRACE_SECONDS = 0.25
WINDOW_PER_WORKER = 4
# Still running at the deadline: a slow API, as a timeout is (a queued record waits it out).
_OUT_OF_TIME = LookupFailure(
    "deadline_exceeded", "the lookup did not finish in time", transient=True
)
# A lookup that never started: not an API failure, and not counted as a lookup. Deferrable: a
# record from a queue waits for its next delivery rather than going out `partial`.
NOT_STARTED = LookupFailure(
    "deadline_exceeded", "the lookup could not start before the deadline", deferrable=True
)
# What http_session reports when an API's pacing has no request slot before the deadline.
NO_SLOT_LEFT = "rate_limited"
_CRASHED = LookupFailure("internal_error", "the lookup failed unexpectedly")


@dataclass(frozen=True, slots=True)
class _Timed:
    result: Any
    started: float
    finished: float


class Enricher:
    """Owns the worker pools: at most `max_concurrency` requests in flight per API."""

    def __init__(
        self,
        *,
        minimo: MinimoClient,
        sales: SalesClient,
        cache: LookupCache,
        max_concurrency: int,
    ) -> None:
        self._minimo = minimo
        self._sales = sales
        self.cache = cache
        self._minimo_pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="minimo")
        self._sales_pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="sales")
        # Addresses being looked up at once: enough to keep both pools busy, few enough that a
        # fast API does not answer thousands of lookups the slow one never gets to.
        self._window = WINDOW_PER_WORKER * max_concurrency

    @property
    def connections(self) -> dict[str, ApiConnection]:
        """Each API's connection (and its pacer), by API."""
        return {"minimo": self._minimo.connection, "sales": self._sales.connection}

    # Not its answers in the trace: they hold the addresses and the contacts found.
    @tracer.capture_method(capture_response=False)
    def look_up(
        self,
        emails: Iterable[str],
        deadline: Deadline,
        *,
        stop_when_full: bool = False,
        expected: int | None = None,
        known: Mapping[str, KnownAnswers] | None = None,
    ) -> Iterator[tuple[str, Lookups]]:
        """Each distinct address once, both APIs concurrently, cached answers reused; yields
        each address with its answers as soon as both are in (cached ones at once), so that
        the caller can build and send its events while the other lookups run. `emails` is read
        as lookups finish: at most `window` addresses are being looked up at a time, so that
        neither API runs far ahead of the other. By the deadline (plus a short grace) it yields
        the rest of those it took: lookups still running are out of time (`deadline_exceeded`);
        those that never started are NOT_STARTED, which must wait.

        `stop_when_full` (a batch whose records can wait on their queue): once an API's pacing
        has no request slot left before the deadline, no later lookup will get one either, so
        every lookup not started yet is given up at once (NOT_STARTED) and no more addresses
        are taken; nor are any after the deadline. The caller hands back those it kept.
        `expected`: how many addresses the caller will hand over, so that the pacers book their
        request slots in as few calls as they can. `known`: answers an earlier delivery got for
        an address (partial_answers.py), read when the address is taken, used as cached ones."""
        for connection in self.connections.values():
            connection.expect(expected or 0)
        try:
            # Not `known or {}`: the caller fills an empty mapping while the lookups run.
            yield from self._look_up(
                emails, deadline, stop_when_full, known if known is not None else {}
            )
        finally:
            for connection in self.connections.values():
                if connection.pacer is not None:
                    for name, value in connection.pacer.counts().items():
                        count(name, value)

    def wait_for(self, lookups: Lookups) -> float:
        """How long an address whose lookups must wait should wait: the longest its APIs asked
        for or their pacers know of (the fleet's schedule, a pause), at least the default."""
        waits = [DEFAULT_RATE_LIMIT_WAIT_SECONDS]
        clients = (self._minimo, self._sales)
        for (_, result, _), client in zip(lookups.answers(), clients, strict=True):
            if result.error is not None and result.error.deferrable:
                waits += [result.error.retry_after or 0.0, client.connection.known_wait()]
        return max(waits)

    def held_for(self, deadline: Deadline) -> float | None:
        """How long a pacer is known to hold its API (a 429's pause across the fleet), when that
        is past the last moment a lookup could start before `deadline`; else None."""
        waits = [
            wait
            for connection in self.connections.values()
            if (wait := connection.blocked_for(deadline)) is not None
        ]
        return max(waits, default=None)

    def _look_up(
        self,
        emails: Iterable[str],
        deadline: Deadline,
        stop_when_full: bool,
        known: Mapping[str, KnownAnswers],
    ) -> Iterator[tuple[str, Lookups]]:
        pending: dict[str, tuple[Future[_Timed] | MinimoResult, Future[_Timed] | SalesResult]] = {}
        waiting_for: dict[Future[_Timed], str] = {}
        # Read lazily: the caller may do work for each address it hands over (claims).
        to_look_up = iter(emails)
        seen: set[str] = set()
        # Made in this thread: they carry this trace's current subsegment into the workers.
        find_contact = traced_lookup("minimo", self._minimo.find_contact)
        find_matches = traced_lookup("sales", self._sales.find_matches)
        given_up = False
        while True:
            while len(pending) < self._window and not given_up:
                if stop_when_full and deadline.remaining() <= 0:
                    break  # what has not been handed over stays with the caller
                email = next(to_look_up, None)
                if email is None:
                    break
                if email in seen:
                    continue
                seen.add(email)
                minimo_known, sales_known = known.get(email, (None, None))
                minimo = self.cache.get(("minimo", email)) or minimo_known
                sales = self.cache.get(("sales", email)) or sales_known
                if minimo is not None and sales is not None:
                    yield email, Lookups(minimo, sales, 0, minimo_cached=True, sales_cached=True)
                    continue
                # Each task runs in a copy of the caller's context: the deadline of any AWS
                # call it makes (the API keys' secret) travels in it.
                jobs = (
                    minimo
                    or self._minimo_pool.submit(
                        copy_context().run, _timed, find_contact, email, deadline
                    ),
                    sales
                    or self._sales_pool.submit(
                        copy_context().run, _timed, find_matches, email, deadline
                    ),
                )
                pending[email] = jobs
                waiting_for.update((job, email) for job in jobs if isinstance(job, Future))
            if not waiting_for:
                break
            left = max(0.0, deadline.remaining()) + COLLECT_GRACE_SECONDS
            done, _ = wait(waiting_for, timeout=left, return_when=FIRST_COMPLETED)
            if not done:
                break  # out of time: what is still running is reported as such, below
            for job in done:
                email = waiting_for.pop(job)
                if stop_when_full and not given_up and _no_slot_left(job):
                    given_up = True
                    _cancel(waiting_for)
                jobs = pending.get(email)  # gone if its other job finished in this round too
                if jobs is not None and all(not isinstance(j, Future) or j.done() for j in jobs):
                    yield email, self._answered(email, *pending.pop(email))
        _cancel(waiting_for)  # past the deadline: what has not started never will
        for email, jobs in pending.items():
            yield email, self._answered(email, *jobs)

    def _answered(
        self,
        email: str,
        minimo_job: Future[_Timed] | MinimoResult,
        sales_job: Future[_Timed] | SalesResult,
    ) -> Lookups:
        minimo, sales, duration_ms = _collect(minimo_job, sales_job)
        self._remember(email, minimo, sales)
        return Lookups(
            minimo,
            sales,
            duration_ms,
            minimo_cached=not isinstance(minimo_job, Future),
            sales_cached=not isinstance(sales_job, Future),
        )

    def close(self) -> None:
        self._minimo_pool.shutdown(wait=False, cancel_futures=True)
        self._sales_pool.shutdown(wait=False, cancel_futures=True)

    def _remember(self, email: str, minimo: MinimoResult, sales: SalesResult) -> None:
        for api, result in (("minimo", minimo), ("sales", sales)):
            if result.status in ("found", "not_found"):
                self.cache.put((api, email), result, found=result.status == "found")


def _timed(lookup: Callable[[str, Deadline], Any], email: str, deadline: Deadline) -> _Timed:
    started = time.perf_counter()
    if deadline.remaining() <= 0:  # picked up after the deadline: nothing is sent any more
        return _Timed(NOT_STARTED, started, started)
    try:
        result = lookup(email, deadline)
    except Exception as exc:  # a bug must not cost the event: it is forwarded as partial
        logger.exception("lookup crashed")
        result = exc
    return _Timed(result, started, time.perf_counter())


def _collect(
    minimo_job: Future[_Timed] | MinimoResult, sales_job: Future[_Timed] | SalesResult
) -> tuple[MinimoResult, SalesResult, int]:
    timed = [
        j.result()
        for j in (minimo_job, sales_job)
        if isinstance(j, Future) and j.done() and not j.cancelled()
    ]
    minimo = _result_of(minimo_job, lambda failure: MinimoResult("error", error=failure))
    sales = _result_of(sales_job, lambda failure: SalesResult("error", error=failure))
    duration = max(t.finished for t in timed) - min(t.started for t in timed) if timed else 0.0
    return minimo, sales, round(duration * 1000)


def _result_of(job: Future[_Timed] | Any, failed: Callable[[LookupFailure], Any]) -> Any:
    if not isinstance(job, Future):
        return job  # answered from the cache
    if job.cancelled():
        return failed(NOT_STARTED)
    if not job.done():
        return failed(_OUT_OF_TIME)
    result = job.result().result
    if isinstance(result, LookupFailure):
        return failed(result)
    return failed(_CRASHED) if isinstance(result, Exception) else result


def _no_slot_left(job: Future[_Timed]) -> bool:
    """The lookup found no request slot before the deadline: no later lookup will find one."""
    if job.cancelled():
        return False
    error = getattr(job.result().result, "error", None)
    return error is not None and error.code == NO_SLOT_LEFT and error.deferrable


def _cancel(jobs: Iterable[Future[_Timed]]) -> None:
    """Drops the lookups still waiting for a worker (a running one cannot be cancelled)."""
    for job in jobs:
        job.cancel()
