"""The shared path of every source: look the addresses up, build the events, send them."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import aws_calls
from deadlines import Deadline, LambdaContextLike
from delivery import Delivery
from delivery_ids import DeliveryKey
from email_addresses import mask_email
from enriched_event import enriched_event, outgoing_message
from enrichment import Lookups
from observability import STATUS_METRICS, Metric, count, failure_details, logger
from queue_sender import MAX_BATCH_ENTRIES, OutgoingMessage
from runtime import Runtime


class ForwardingFailed(Exception):
    """Raised by sources whose sender retries on an error (direct and EventBridge invokes)."""


IN_PROGRESS = "in_progress"  # another invocation is forwarding the same delivery right now
# The sender's id already names other content from the same sender (IDEMPOTENCY_TABLE only).
ID_REUSED = "id_reused"
# Kept from SQS's share of the time for the duplicate check's bookkeeping after the send.
SETTLE_RESERVE_SECONDS = 0.8
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
    wait: float | None = None  # HANDED_BACK: seconds until it is worth trying again

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
    """One Outcome per delivery, in order. Each delivery (sender, id and content) is looked up
    and sent at most once: repeated within the batch, or (with IDEMPOTENCY_TABLE) already
    forwarded before. With IDEMPOTENCY_TABLE, a sender's id that already names other content is
    refused as reused (ID_REUSED) rather than taken for a duplicate.

    `deadline` is the lookups'; SQS and the ledger's bookkeeping end by its answer deadline.
    With `hand_back_waits` (a queue will deliver the event again), an event whose lookup only
    had to wait past the deadline is not sent but handed back; otherwise it goes out `partial`.
    """
    unique = list({d.key: d for d in deliveries}.values())
    tally: Counter[str] = Counter()  # one data point per metric and invocation, however many events
    outcomes: dict[DeliveryKey, Outcome] = {}
    fresh = unique
    answer_by = deadline.for_answer()
    if runtime.ledger is not None:
        in_progress_ms = int(max(0.0, answer_by.remaining()) * 1000)
        claims = runtime.ledger.claim(unique, in_progress_ms, deadline)
        for key, answer in claims.answered.items():
            outcomes[key] = Outcome(key.event_id, answer.get("status"), duplicate=True)
        for key in claims.in_progress:
            outcomes[key] = Outcome(key.event_id, None, failure=IN_PROGRESS)
        for delivery in unique:
            if delivery.key in claims.reused:
                outcomes[delivery.key] = Outcome(delivery.event_id, None, failure=ID_REUSED)
                _log_reuse(delivery)
        tally[Metric.DUPLICATE_DELIVERIES] += len(claims.answered) + len(claims.in_progress)
        tally[Metric.DELIVERY_IDS_REUSED] += len(claims.reused)
        fresh = claims.fresh

    forwarded = _forward(fresh, runtime, deadline, answer_by, tally, hand_back_waits)
    outcomes.update(forwarded)
    if runtime.ledger is not None:
        runtime.ledger.settle(
            forwarded={key: o.answer() for key, o in forwarded.items() if o.forwarded},
            failed=[key for key, o in forwarded.items() if not o.forwarded],
            deadline=answer_by,
        )
    for name, value in tally.items():
        count(name, value)
    return [outcomes[d.key] for d in deliveries]


def _forward(
    deliveries: list[Delivery],
    runtime: Runtime,
    deadline: Deadline,
    answer_by: Deadline,
    tally: Counter[str],
    hand_back_waits: bool,
) -> dict[DeliveryKey, Outcome]:
    """Each event is built as soon as its address is answered and sent in a batch of ten as
    soon as ten are ready, while the other lookups run: a batch takes about as long as its
    lookups, not its lookups plus its sends."""
    by_email: defaultdict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_email[delivery.email.email if delivery.email else ""].append(delivery)
    outcomes: dict[DeliveryKey, Outcome] = {}

    def sent(delivery: Delivery, event: dict, failure: str | None) -> None:
        outcome = Outcome(delivery.event_id, event["enrichment"]["status"], failure)
        outcomes[delivery.key] = outcome
        _log_outcome(delivery, event, outcome, tally)

    batches = _Batches(runtime, answer_by, sent)
    all_lookups: dict[str, Lookups] = {}

    def answered(email: str, found: Lookups | None) -> None:
        for delivery in by_email[email]:
            if hand_back_waits and found is not None and found.must_wait:
                wait = runtime.enricher.wait_for(found)  # its queue keeps it that long
                outcomes[delivery.key] = Outcome(delivery.event_id, None, HANDED_BACK, wait=wait)
                tally[Metric.EVENTS_HANDED_BACK] += 1
                logger.info("event handed back to its queue", extra=_wait_details(delivery, found))
                continue
            event = enriched_event(delivery, found, runtime.settings.relationship_precedence)
            batches.add(delivery, event, fifo=runtime.settings.fifo_queue)
        batches.report_sent()  # what has gone meanwhile, while the lookups still run

    answered("", None)  # no address: nothing to look up
    emails = [email for email in by_email if email]
    with aws_calls.within(deadline):  # the API keys' secret, read by the lookups
        lookups = runtime.enricher.look_up(emails, deadline, hold_when_blocked=hand_back_waits)
        for email, found in lookups:
            all_lookups[email] = found
            answered(email, found)
    batches.finish()
    _count_lookups(all_lookups, tally)
    return outcomes


_Sent = Callable[[Delivery, dict, "str | None"], None]


class _Batches:
    """Messages sent in batches of ten as they are added, in the background. Each event's
    outcome is reported to `sent` once its batch is answered (or at once when it cannot be
    serialised); `finish` sends the rest and reports every outcome still due."""

    def __init__(self, runtime: Runtime, answer_by: Deadline, sent: _Sent) -> None:
        self._runtime = runtime
        self._send_soon = runtime.sender.in_background()  # made before the lookups' subsegment
        self._answer_by = answer_by
        self._sent = sent
        self._ready: list[tuple[Delivery, dict, OutgoingMessage]] = []
        self._sending: deque[tuple[Future[dict[str, str]], list]] = deque()

    def add(self, delivery: Delivery, event: dict, *, fifo: bool) -> None:
        try:
            message = outgoing_message(event, fifo=fifo, key=delivery.key.digest)
        except (ValueError, TypeError, RecursionError) as exc:  # this event fails, not the batch
            logger.error(
                "event cannot be serialised",
                extra={"event_id": event["event_id"], **failure_details(exc)},
            )
            self._sent(delivery, event, UNSERIALISABLE)
            return
        self._ready.append((delivery, event, message))
        if len(self._ready) == MAX_BATCH_ENTRIES:
            self._send_ready()

    def report_sent(self) -> None:
        """Reports the batches already answered, oldest first."""
        while self._sending and self._sending[0][0].done():
            self._report(*self._sending.popleft())

    def finish(self) -> None:
        if self._ready:  # the last, short batch, after the others (a FIFO queue keeps order)
            self._send_ready()
        while self._sending:
            self._report(*self._sending.popleft())

    def _send_ready(self) -> None:
        messages = [message for _, _, message in self._ready]
        self._sending.append((self._send_soon(messages, self._deadline()), self._ready))
        self._ready = []

    def _report(self, sending: Future[dict[str, str]], batch: list) -> None:
        failures = sending.result()
        for delivery, event, message in batch:
            self._sent(delivery, event, failures.get(message.key))

    def _deadline(self) -> Deadline:
        """Worked out when each batch goes: the duplicate check's share depends on the time left."""
        return _sending_deadline(self._answer_by, self._runtime)


def _sending_deadline(answer_by: Deadline, runtime: Runtime) -> Deadline:
    """SQS may use all the time left but the duplicate check's share, which it gets only when
    that share is enough for one DynamoDB attempt: sending is what must not fail."""
    if runtime.ledger is None:
        return answer_by
    settling = min(SETTLE_RESERVE_SECONDS, max(0.0, answer_by.remaining()) / 3)
    if settling < aws_calls.DYNAMODB.shortest_attempt:
        return answer_by
    return answer_by.less(settling)


def _log_reuse(delivery: Delivery) -> None:
    logger.warning(
        "delivery id reused for other content; not forwarded",
        extra={
            "event_id": delivery.event_id,
            "scope": delivery.key.scope,
            "email": mask_email(delivery.email.email if delivery.email else None),
        },
    )


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
    if outcome.failure == ID_REUSED:
        raise ForwardingFailed(
            f"event {outcome.event_id} was not queued: its id already names other content"
            f" from the same source ({ID_REUSED})"
        )
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
