"""Looks addresses up in both APIs at once and merges the answers into an enrichment."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any, Literal

from deadlines import Deadline
from http_session import ApiConnection
from lookup_cache import LookupCache
from lookup_results import LookupFailure, MinimoResult, SalesResult
from minimo_client import MinimoClient
from observability import count, logger, tracer
from rate_limit_headers import DEFAULT_RATE_LIMIT_WAIT_SECONDS
from sales_client import SalesClient
from tracing import traced_lookup

EnrichmentStatus = Literal["enriched", "not_found", "partial", "no_email"]

# Time allowed past the lookup deadline for a worker to hand back its answer.
COLLECT_GRACE_SECONDS = 0.25
_OUT_OF_TIME = LookupFailure("deadline_exceeded", "the lookup did not finish in time")
_CRASHED = LookupFailure("internal_error", "the lookup failed unexpectedly")


@dataclass(frozen=True, slots=True)
class Lookups:
    """Both APIs' answers for one address."""

    minimo: MinimoResult
    sales: SalesResult
    duration_ms: int
    # Which answers came from the warm-container cache rather than the API.
    minimo_cached: bool = False
    sales_cached: bool = False

    def answers(self) -> tuple[tuple[str, MinimoResult | SalesResult, bool], ...]:
        return (
            ("minimo", self.minimo, self.minimo_cached),
            ("sales", self.sales, self.sales_cached),
        )

    @property
    def failed(self) -> bool:
        return self.minimo.status == "error" or self.sales.status == "error"

    @property
    def must_wait(self) -> bool:
        """A lookup failed only for want of time to wait (a rate limit, pacing)."""
        return any(r.error is not None and r.error.deferrable for r in (self.minimo, self.sales))

    @property
    def found(self) -> bool:
        return self.minimo.status == "found" or self.sales.status == "found"


SKIPPED = Lookups(MinimoResult("skipped"), SalesResult("skipped"), duration_ms=0)


def enrichment_status(lookups: Lookups | None) -> EnrichmentStatus:
    if lookups is None:
        return "no_email"
    if lookups.failed:
        return "partial"
    return "enriched" if lookups.found else "not_found"


def winning_relationship(sales: SalesResult, precedence: tuple[str, ...]) -> str | None:
    """The relationship ranked first by `precedence` among matches that count; unknown ones last."""
    ranked = [m.relationship for m in sales.matches if m.counts and m.relationship]
    if not ranked:
        return None
    return min(ranked, key=lambda r: precedence.index(r) if r in precedence else len(precedence))


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

    @property
    def connections(self) -> dict[str, ApiConnection]:
        """Each API's connection (and its pacer), by API."""
        return {"minimo": self._minimo.connection, "sales": self._sales.connection}

    # Not its answers in the trace: they hold the addresses and the contacts found.
    @tracer.capture_method(capture_response=False)
    def look_up(
        self, emails: Iterable[str], deadline: Deadline, *, hold_when_blocked: bool = False
    ) -> Iterator[tuple[str, Lookups]]:
        """Each distinct address once, both APIs concurrently, cached answers reused; yields
        each address with its answers as soon as both are in (cached ones first), so that the
        caller can build and send its events while the other lookups run. By the deadline
        (plus a short grace) it yields the rest too, their unfinished lookups out of time.

        With `hold_when_blocked` (the caller hands back what must wait), nothing is looked up
        while a pacer is known to hold its API past the deadline (the fleet paused by a 429):
        each address comes back at once as having to wait."""
        try:
            yield from self._look_up(dict.fromkeys(emails), deadline, hold_when_blocked)
        finally:
            for client in (self._minimo, self._sales):
                if client.connection.pacer is not None:
                    for name, value in client.connection.pacer.counts().items():
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

    def _look_up(
        self, emails: dict[str, None], deadline: Deadline, hold_when_blocked: bool
    ) -> Iterator[tuple[str, Lookups]]:
        pending: dict[str, tuple[Future[_Timed] | MinimoResult, Future[_Timed] | SalesResult]] = {}
        waiting_for: dict[Future[_Timed], str] = {}
        # Made in this thread: they carry this trace's current subsegment into the workers.
        find_contact = traced_lookup("minimo", self._minimo.find_contact)
        find_matches = traced_lookup("sales", self._sales.find_matches)
        cached = {e: (self.cache.get(("minimo", e)), self.cache.get(("sales", e))) for e in emails}
        to_ask = [e for e, answers in cached.items() if None in answers]
        blocked = self._blocked(deadline) if hold_when_blocked and to_ask else None
        if blocked is None:  # the pacers book slots for what is about to be asked
            self._minimo.connection.expect(sum(cached[e][0] is None for e in to_ask))
            self._sales.connection.expect(sum(cached[e][1] is None for e in to_ask))
        for email, (minimo, sales) in cached.items():
            if minimo is not None and sales is not None:
                yield email, Lookups(minimo, sales, 0, minimo_cached=True, sales_cached=True)
                continue
            if blocked is not None:
                held = MinimoResult("error", error=blocked), SalesResult("error", error=blocked)
                yield email, Lookups(minimo or held[0], sales or held[1], 0)
                continue
            # Each task runs in a copy of the caller's context: the deadline of any AWS call it
            # makes (the API keys' secret) travels in it.
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
        while waiting_for:
            left = max(0.0, deadline.remaining()) + COLLECT_GRACE_SECONDS
            done, _ = wait(waiting_for, timeout=left, return_when=FIRST_COMPLETED)
            if not done:
                break  # out of time: what is still running is reported as such, below
            for job in done:
                email = waiting_for.pop(job)
                jobs = pending.get(email)  # gone if its other job finished in this round too
                if jobs is not None and all(not isinstance(j, Future) or j.done() for j in jobs):
                    yield email, self._answered(email, *pending.pop(email))
        for email, jobs in pending.items():
            yield email, self._answered(email, *jobs)

    def _blocked(self, deadline: Deadline) -> LookupFailure | None:
        """A failure for every lookup, when a pacer holds its API past the deadline."""
        waits = [
            wait
            for client in (self._minimo, self._sales)
            if (wait := client.connection.blocked_for(deadline)) is not None
        ]
        if not waits:
            return None
        return LookupFailure(
            "rate_limited",
            f"the API's rate limit holds every request for {max(waits):.1f} s, past the time"
            " this invocation has left",
            deferrable=True,
            retry_after=max(waits),
        )

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
    try:
        result = lookup(email, deadline)
    except Exception as exc:  # a bug must not cost the event: it is forwarded as partial
        logger.exception("lookup crashed")
        result = exc
    return _Timed(result, started, time.perf_counter())


def _collect(
    minimo_job: Future[_Timed] | MinimoResult, sales_job: Future[_Timed] | SalesResult
) -> tuple[MinimoResult, SalesResult, int]:
    timed = [j.result() for j in (minimo_job, sales_job) if isinstance(j, Future) and j.done()]
    minimo = _result_of(minimo_job, lambda failure: MinimoResult("error", error=failure))
    sales = _result_of(sales_job, lambda failure: SalesResult("error", error=failure))
    duration = max(t.finished for t in timed) - min(t.started for t in timed) if timed else 0.0
    return minimo, sales, round(duration * 1000)


def _result_of(job: Future[_Timed] | Any, failed: Callable[[LookupFailure], Any]) -> Any:
    if not isinstance(job, Future):
        return job  # answered from the cache
    if not job.done():
        return failed(_OUT_OF_TIME)
    result = job.result().result
    return failed(_CRASHED) if isinstance(result, Exception) else result
