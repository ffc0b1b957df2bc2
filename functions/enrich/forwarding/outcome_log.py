"""What forwarding logs and counts: one line per forwarded event, and one line per batch (per
reason) for the events that were not forwarded, however many there are: a batch that runs out
of time must not spend what is left of it writing a line per record."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from checks.delivery import Delivery
from checks.email_addresses import mask_email
from lookups.address_lookups import Lookups
from lookups.enricher import NOT_STARTED
from platform_services.observability import STATUS_METRICS, Metric, logger

# How many event ids a summary line names; the count says how many there were.
SAMPLE_IDS = 10


class Unforwarded:
    """The events of one invocation that are not on the queue, by reason."""

    def __init__(self) -> None:
        self._handed_back: defaultdict[str, list[str]] = defaultdict(list)
        self._failed: defaultdict[str, list[str]] = defaultdict(list)

    def hand_back(self, delivery: Delivery, why: str) -> None:
        """The event goes back to its queue to wait (`why`: what it waits for); not a failure."""
        self._handed_back[why].append(delivery.event_id)

    def fail(self, delivery: Delivery, reason: str) -> None:
        self._failed[reason].append(delivery.event_id)

    def log(self, tally: Counter[str], details: dict[str, Any] | None = None) -> None:
        """`details`: what the hand-back line adds (records waiting out an outage)."""
        if self._handed_back:
            ids = [i for same in self._handed_back.values() for i in same]
            tally[Metric.EVENTS_HANDED_BACK] += len(ids)
            logger.info(
                "events handed back to their queue",
                extra={
                    "events": len(ids),
                    "waiting_for": {why: len(same) for why, same in self._handed_back.items()},
                    "event_ids": ids[:SAMPLE_IDS],
                    **(details or {}),
                },
            )
        for reason, ids in self._failed.items():
            tally[Metric.FORWARD_FAILURES] += len(ids)
            logger.error(
                "events not forwarded",
                extra={"reason": reason, "events": len(ids), "event_ids": ids[:SAMPLE_IDS]},
            )


def waits_for(lookups: Lookups) -> str:
    """What a lookup that must wait is waiting for: `<api> <code>`, or `time` to start."""
    for api, result, _ in lookups.answers():
        error = result.error
        if error is not None and error.deferrable and error is not NOT_STARTED:
            return f"{api} {error.code}"
    return "time"


def log_forwarded(event: dict[str, Any], status: str | None, tally: Counter[str]) -> None:
    enrichment = event["enrichment"]
    tally[Metric.EVENTS_FORWARDED] += 1
    tally[STATUS_METRICS[status or ""]] += 1
    logger.info(
        "event forwarded",
        extra={
            "event_id": event["event_id"],
            "email": mask_email(event["email"]),
            "enrichment_status": status,
            "relationship": enrichment["relationship"],
            "duration_ms": enrichment["duration_ms"],
        },
    )


def log_reuse(delivery: Delivery) -> None:
    logger.warning(
        "delivery id reused for other content; not forwarded",
        extra={
            "event_id": delivery.event_id,
            "scope": delivery.key.scope,
            "email": mask_email(delivery.email.email if delivery.email else None),
        },
    )


# Per API: its name in logs, its lookup count and its error count.
_API_METRICS = {
    "minimo": ("Minimo", Metric.MINIMO_LOOKUPS, Metric.MINIMO_LOOKUP_ERRORS),
    "sales": ("sales API", Metric.SALES_LOOKUPS, Metric.SALES_LOOKUP_ERRORS),
}


def count_lookups(all_lookups: dict[str, Lookups], tally: Counter[str]) -> None:
    """A lookup that never started is no lookup: neither counted nor an error (a batch larger
    than its time would otherwise look like a failing API to the error-rate alarm)."""
    # A failure usually hits many lookups alike (an outage, a wrong key): one log line per API
    # and error code, with a count, rather than one per lookup.
    failures: Counter[tuple[str, bool, tuple[tuple[str, str], ...]]] = Counter()
    for lookups in all_lookups.values():
        for api, result, cached in lookups.answers():
            name, lookup_metric, error_metric = _API_METRICS[api]
            if cached:
                tally[Metric.LOOKUP_CACHE_HITS] += 1
                continue
            failure = result.error
            if failure is NOT_STARTED:
                continue
            tally[lookup_metric] += 1
            if failure is None:
                continue
            tally[error_metric] += 1
            configuration = failure.is_configuration_error
            if configuration:
                tally[Metric.LOOKUP_CONFIG_ERRORS] += 1
            failures[name, configuration, tuple(failure.log_fields().items())] += 1
    for (name, configuration, fields), lookups_failed in failures.items():
        details = {"api": name, "error": dict(fields), "lookups": lookups_failed}
        if configuration:
            # Retrying cannot fix this; it needs a person (the LookupConfigErrors alarm).
            logger.error("lookup failed: configuration error", extra=details)
        else:
            logger.warning("lookup failed", extra=details)
