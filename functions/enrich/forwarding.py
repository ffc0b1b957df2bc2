"""The shared path of every source: look the addresses up, build the events, send them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from deadlines import FORWARDING_RESERVE_SECONDS, Deadline, LambdaContextLike
from delivery import Delivery
from email_addresses import mask_email
from enriched_event import enriched_event, outgoing_message
from enrichment import Lookups
from observability import STATUS_METRICS, Metric, count, failure_details, logger
from queue_sender import OutgoingMessage
from runtime import Runtime


class ForwardingFailed(Exception):
    """Raised by sources whose sender retries on an error (direct and EventBridge invokes)."""


IN_PROGRESS = "in_progress"  # another invocation is forwarding the same delivery right now
# A lookup had to wait (rate limit, pacing) longer than the invocation had left; the event was
# not sent, so that its queue can deliver it again later.
HANDED_BACK = "handed_back"
UNSERIALISABLE = "not_serialisable"  # not strict JSON: a defect, since intake enforces the policy


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    status: str | None  # the enrichment status; None when the delivery was not processed here
    failure: str | None = None  # why the event is not (yet) on the queue
    duplicate: bool = False  # forwarded by an earlier delivery: nothing was sent this time

    @property
    def forwarded(self) -> bool:
        return self.failure is None

    def answer(self) -> dict[str, str | None]:
        return {"event_id": self.event_id, "status": self.status}


def enrich_and_forward(
    deliveries: Sequence[Delivery],
    runtime: Runtime,
    deadline: Deadline,
    *,
    hand_back_waits: bool = False,
) -> list[Outcome]:
    """One Outcome per delivery, in order. Each event_id is looked up and sent at most once:
    repeated within the batch, or (with IDEMPOTENCY_TABLE) already forwarded before.

    With `hand_back_waits` (a queue will deliver the event again), an event whose lookup only
    had to wait past the deadline is not sent but handed back; otherwise it goes out `partial`.
    """
    unique = list({d.event_id: d for d in deliveries}.values())
    tally: Counter[str] = Counter()  # one data point per metric and invocation, however many events
    outcomes: dict[str, Outcome] = {}
    fresh = unique
    if runtime.ledger is not None:
        in_progress_ms = int((deadline.remaining() + FORWARDING_RESERVE_SECONDS) * 1000)
        claims = runtime.ledger.claim(unique, in_progress_ms)
        for event_id, answer in claims.answered.items():
            outcomes[event_id] = Outcome(event_id, answer.get("status"), duplicate=True)
        for event_id in claims.in_progress:
            outcomes[event_id] = Outcome(event_id, None, failure=IN_PROGRESS)
        tally[Metric.DUPLICATE_DELIVERIES] += len(claims.answered) + len(claims.in_progress)
        fresh = claims.fresh

    forwarded = _forward(fresh, runtime, deadline, tally, hand_back_waits)
    outcomes.update(forwarded)
    if runtime.ledger is not None:
        runtime.ledger.settle(
            forwarded={o.event_id: o.answer() for o in forwarded.values() if o.forwarded},
            failed=[o.event_id for o in forwarded.values() if not o.forwarded],
        )
    for name, value in tally.items():
        count(name, value)
    return [outcomes[d.event_id] for d in deliveries]


def _forward(
    deliveries: list[Delivery],
    runtime: Runtime,
    deadline: Deadline,
    tally: Counter[str],
    hand_back_waits: bool,
) -> dict[str, Outcome]:
    lookups = runtime.enricher.look_up([d.email.email for d in deliveries if d.email], deadline)
    _count_lookups(lookups, tally)
    outcomes: dict[str, Outcome] = {}
    ready = []
    for delivery in deliveries:
        found = lookups[delivery.email.email] if delivery.email else None
        if hand_back_waits and found is not None and found.must_wait:
            outcomes[delivery.event_id] = Outcome(delivery.event_id, None, HANDED_BACK)
            tally[Metric.EVENTS_HANDED_BACK] += 1
            logger.info("event handed back to its queue", extra=_wait_details(delivery, found))
        else:
            ready.append((delivery, found))
    precedence = runtime.settings.relationship_precedence
    events = [enriched_event(d, found, precedence) for d, found in ready]
    fifo = runtime.settings.fifo_queue
    messages: list[OutgoingMessage] = []
    failures: dict[str, str] = {}
    for event in events:
        try:
            messages.append(outgoing_message(event, fifo=fifo))
        except (ValueError, TypeError, RecursionError) as exc:  # this event fails, not the batch
            logger.error(
                "event cannot be serialised",
                extra={"event_id": event["event_id"], **failure_details(exc)},
            )
            failures[event["event_id"]] = UNSERIALISABLE
    failures.update(runtime.sender.send(messages))
    for (delivery, _), event in zip(ready, events, strict=True):
        outcome = Outcome(
            delivery.event_id, event["enrichment"]["status"], failures.get(delivery.event_id)
        )
        outcomes[delivery.event_id] = outcome
        _log_outcome(delivery, event, outcome, tally)
    return outcomes


def _wait_details(delivery: Delivery, lookups: Lookups) -> dict[str, object]:
    return {
        "event_id": delivery.event_id,
        "email": mask_email(delivery.email.email if delivery.email else None),
        "waits": {api: result.error.code for api, result, _ in lookups.answers() if result.error},
    }


def forward_or_raise(
    delivery: Delivery, runtime: Runtime, context: LambdaContextLike | None
) -> dict[str, str]:
    """For invokes whose sender retries on an error: EventBridge, direct (async) invokes."""
    logger.set_correlation_id(delivery.event_id)
    [outcome] = enrich_and_forward([delivery], runtime, Deadline.for_lookups(context))
    if not outcome.forwarded:
        raise ForwardingFailed(f"event {outcome.event_id} could not be queued: {outcome.failure}")
    return outcome.answer()


def _log_outcome(delivery: Delivery, event: dict, outcome: Outcome, tally: Counter[str]) -> None:
    enrichment = event["enrichment"]
    details = {
        "event_id": delivery.event_id,
        "email": mask_email(event["email"]),
        "enrichment_status": outcome.status,
        "relationship": enrichment["relationship"],
        "duration_ms": enrichment["duration_ms"],
    }
    if outcome.forwarded:
        tally[Metric.EVENTS_FORWARDED] += 1
        tally[STATUS_METRICS[outcome.status]] += 1
        logger.info("event forwarded", extra=details)
    else:
        tally[Metric.FORWARD_FAILURES] += 1
        logger.error("event not forwarded", extra={**details, "reason": outcome.failure})


# Per API: its name in logs, its lookup count and its error count.
_API_METRICS = {
    "minimo": ("Minimo", Metric.MINIMO_LOOKUPS, Metric.MINIMO_LOOKUP_ERRORS),
    "sales": ("sales API", Metric.SALES_LOOKUPS, Metric.SALES_LOOKUP_ERRORS),
}


def _count_lookups(all_lookups: dict[str, Lookups], tally: Counter[str]) -> None:
    # A failure usually hits many lookups alike (an outage, a wrong key): one log line per API
    # and error code, with a count, rather than one per lookup.
    failures: Counter[tuple[str, bool, tuple[tuple[str, str], ...]]] = Counter()
    for lookups in all_lookups.values():
        for api, result, cached in lookups.answers():
            name, lookup_metric, error_metric = _API_METRICS[api]
            if cached:
                tally[Metric.LOOKUP_CACHE_HITS] += 1
                continue
            tally[lookup_metric] += 1
            failure = result.error
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
