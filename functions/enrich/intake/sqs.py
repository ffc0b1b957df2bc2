"""SQS batches from an intake queue: each record's body is one submission.

The whole batch is enriched and forwarded together (addresses deduplicated, lookups in
parallel, SendMessageBatch), then Powertools' batch processor reports exactly the records that
could not be forwarded or were refused, so SQS redelivers only those (and, in the end, moves them
to the intake queue's dead-letter queue). A lookup failure is never a record failure: such an
event is forwarded as `partial`. What cannot be finished in time is not a failure either: a
lookup that would have to wait longer than the invocation has left (a rate limit's Retry-After,
the fleet's pacing), and whatever the batch had no time left to read, claim, look up or send, is
handed back, to be enriched when SQS delivers it again; nothing is sent after the invocation's
deadline. A record that waits for a known time (a pause, the fleet's schedule) comes back with its
visibility timeout set to when that wait ends (record_handback.py): waiting costs no receives.

A record whose body claims to be a queued webhook (queued mode) is one only if the function's
own HTTP edge signed it (queued_signatures.py); otherwise it is an ordinary submission.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from checks import strict_json
from checks.check_failures import BodyRejected, CheckFailed
from checks.delivery import Delivery, new_delivery
from checks.delivery_ids import safe_id, sender_id
from forwarding import queue_receipts, record_handback
from forwarding.outcomes import Outcome, OutcomeCode
from forwarding.pipeline import enrich_and_forward
from intake import queued_webhooks
from intake.answers import Refusal, malformed, not_signed_by_the_edge, refusal_for
from intake.outcome_answers import record_failure
from intake.parts import SqsIntakeParts
from intake.queued_signatures import SIGNATURE_ATTRIBUTE, Verdict
from platform_services.deadlines import Deadline, LambdaContextLike
from platform_services.observability import Metric, count, failure_details, logger
from platform_services.secret_reader import SecretUnavailable

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Reading the records may use at most this share of the lookups' time; the records it leaves
# unread are handed back, so that a huge batch still gets some of its records looked up.
READ_SHARE = 0.5
SAMPLE_IDS = 10  # message ids named in a summary line


class RecordNotForwarded(Exception):
    """Marks a record as failed for the batch processor."""


def handle(event: dict[str, Any], context: LambdaContextLike | None, parts: SqsIntakeParts) -> dict:
    records = sqs_records(event)
    count(Metric.EVENTS_RECEIVED, len(records))
    deadline = Deadline.for_lookups(context, records=len(records))
    deliveries, failures = read_batch(records, parts, deadline)

    outcomes = enrich_and_forward(
        list(deliveries.values()),
        parts.forwarding,
        deadline,
        hand_back_waits=True,
        receipts=queue_receipts.by_delivery(records, deliveries),
    )
    for message_id, outcome in zip(deliveries, outcomes, strict=True):
        failure = record_failure(outcome)
        if failure is not None:
            failures[message_id] = failure
    waiting = dict(zip(deliveries, outcomes, strict=True))
    _hand_back(records, waiting, parts, deadline.for_answer())

    def report(record: SQSRecord) -> None:
        if record.message_id in failures:
            raise RecordNotForwarded(failures[record.message_id])

    return process_partial_response(event, report, processor, context)  # type: ignore[arg-type]


def read_batch(
    records: list[SQSRecord], parts: SqsIntakeParts, deadline: Deadline
) -> tuple[dict[str, Delivery], dict[str, str]]:
    """Each record's delivery by message id, and {message id: why} for those refused, not
    readable, or left unread for want of time (at most READ_SHARE of the lookups' time)."""
    read_by = deadline.less(deadline.remaining() * (1 - READ_SHARE))
    reader = _RecordReader(parts, deadline)
    deliveries: dict[str, Delivery] = {}
    for record in records:
        if read_by.remaining() <= 0:
            reader.unread.append(record.message_id)
            continue
        reader.read(record, deliveries)
    return deliveries, reader.report()


def _hand_back(
    records: list[SQSRecord],
    outcomes: dict[str, Outcome],
    parts: SqsIntakeParts,
    deadline: Deadline,
) -> None:
    """Records whose lookups must wait come back when the wait ends, each queue's at once
    (record_handback.py); the rest of what is handed back keeps the queue's own timeout."""
    by_queue: dict[str, list[record_handback.HandBack]] = {}
    for record in records:
        outcome = outcomes.get(record.message_id)
        handle = record.raw_event.get("receiptHandle")
        if outcome is None or outcome.code is not OutcomeCode.HANDED_BACK or outcome.wait is None:
            continue
        if isinstance(handle, str) and handle:  # else: the queue's own visibility timeout
            wait = record_handback.HandBack(record.message_id, handle, outcome.wait)
            by_queue.setdefault(record.event_source_arn, []).append(wait)
    for queue_arn, waits in by_queue.items():
        try:
            queue = record_handback.queue_url(parts.sqs, queue_arn)
        except ValueError:  # not a queue's ARN: the queue's own visibility timeout applies
            logger.warning("records handed back to a queue with no usable ARN")
            continue
        record_handback.hand_back(parts.sqs, queue, waits, deadline)
        if parts.wakeups is not None:  # those waiting out an outage: woken when it ends
            parts.wakeups.remember(queue, waits, outcomes, deadline)


def sqs_records(event: dict[str, Any]) -> list[SQSRecord]:
    """The batch's records; refuses (400) an event that only looks like an SQS batch (a direct
    invoke): every record needs its own messageId, a text body, eventSource `aws:sqs` and the
    queue's ARN, as Lambda's event source mapping always sends them."""
    raw_records = event.get("Records")
    if not isinstance(raw_records, list) or not all(_well_formed(r) for r in raw_records):
        raise malformed(
            "the event is not an SQS batch: each record needs a messageId, a text body, "
            "eventSource aws:sqs and an eventSourceARN",
        )
    if len({r["messageId"] for r in raw_records}) != len(raw_records):
        raise malformed("the SQS batch holds a messageId twice")
    return [SQSRecord(raw) for raw in raw_records]


def _well_formed(raw: Any) -> bool:
    return (
        isinstance(raw, dict)
        and isinstance(raw.get("messageId"), str)
        and bool(raw["messageId"])
        and isinstance(raw.get("body"), str)
        and raw.get("eventSource") == "aws:sqs"
        and isinstance(raw.get("eventSourceARN"), str)
        and isinstance(raw.get("attributes", {}), dict)
        and isinstance(raw.get("messageAttributes", {}), dict)
    )


class _RecordReader:
    """Turns records into deliveries; what it cannot read is summed up in one line per batch."""

    def __init__(self, parts: SqsIntakeParts, deadline: Deadline) -> None:
        self._parts = parts
        self._deadline = deadline
        self._keys_unavailable = False  # tried once per batch, not once per record
        self.failures: dict[str, str] = {}
        self.refused: Counter[str] = Counter()
        self.unreadable: Counter[tuple[str, str]] = Counter()
        self.unread: list[str] = []

    def read(self, record: SQSRecord, deliveries: dict[str, Delivery]) -> None:
        try:
            deliveries[record.message_id] = self._delivery_from(record)
        except (Refusal, CheckFailed) as error:
            refusal = refusal_for(error)
            self.refused[refusal.code] += 1
            self.failures[record.message_id] = refusal.code
        except SecretUnavailable:  # whether it is a signed webhook cannot be told now
            self._keys_unavailable = True
            self.failures[record.message_id] = OutcomeCode.SECRET_UNAVAILABLE
        except Exception as exc:  # a record nothing foresaw fails alone, not with its batch
            details = failure_details(exc)
            self.unreadable[details["error_type"], details["raised_at"]] += 1
            self.failures[record.message_id] = OutcomeCode.UNREADABLE

    def report(self) -> dict[str, str]:
        """Logs and counts the records not read; returns {message id: why} for each."""
        if self.refused:
            count(Metric.EVENTS_REFUSED, sum(self.refused.values()))
            refused = [i for i, why in self.failures.items() if why in self.refused]
            logger.warning(
                "records refused",
                extra={"codes": dict(self.refused), "message_ids": refused[:SAMPLE_IDS]},
            )
        if self.unreadable:
            count(Metric.FORWARD_FAILURES, sum(self.unreadable.values()))
            unreadable = [i for i, why in self.failures.items() if why == OutcomeCode.UNREADABLE]
            logger.error(
                "records could not be read",
                extra={
                    "errors": [
                        {"error_type": kind, "raised_at": where, "records": n}
                        for (kind, where), n in self.unreadable.items()
                    ],
                    "message_ids": unreadable[:SAMPLE_IDS],
                },
            )
        if self._keys_unavailable:
            unjudged = [
                i for i, why in self.failures.items() if why == OutcomeCode.SECRET_UNAVAILABLE
            ]
            logger.error("intake signing key unavailable", extra={"records": len(unjudged)})
        if self.unread:
            count(Metric.EVENTS_HANDED_BACK, len(self.unread))
            logger.info(
                "records handed back unread: the batch had no time left to read them",
                extra={"records": len(self.unread), "message_ids": self.unread[:SAMPLE_IDS]},
            )
        return {**self.failures, **dict.fromkeys(self.unread, OutcomeCode.HANDED_BACK)}

    def _delivery_from(self, record: SQSRecord) -> Delivery:
        body = strict_json.loads(record.body)
        if queued_webhooks.is_queued_webhook(body) and self._signed(record):
            return queued_webhooks.delivery_from(body)
        payload, event_id = _unwrap(body)
        return new_delivery(
            payload,
            event_id=event_id or sender_id(None, payload) or safe_id(record.message_id),
            source={"kind": "sqs", "queue": record.event_source_arn.rsplit(":", 1)[-1]},
            finder=self._parts.email_finder,
            require_email=self._parts.require_email,
            received_at=queue_receipts.received_at(record.raw_event.get("attributes", {})),
        )

    def _signed(self, record: SQSRecord) -> bool:
        """True for a queued webhook the edge signed; False for an unsigned body (an ordinary
        submission); refuses (401) a signature no current key verifies."""
        signing = self._parts.intake_signing
        if signing is None:  # this deployment queues no webhooks: none can be genuine
            return False
        if self._keys_unavailable:
            raise SecretUnavailable("already unavailable in this batch")
        verdict = signing.verify(record.body, _signature(record.raw_event), self._deadline)
        if verdict is Verdict.UNVERIFIED:
            raise not_signed_by_the_edge()
        return verdict is Verdict.SIGNED


def _signature(raw: dict[str, Any]) -> str | None:
    attribute = raw.get("messageAttributes", {}).get(SIGNATURE_ATTRIBUTE)
    value = attribute.get("stringValue") if isinstance(attribute, dict) else None
    return value if isinstance(value, str) else None


def _unwrap(payload: Any) -> tuple[Any, str | None]:
    """Submissions that reached the queue through SNS or EventBridge arrive in an envelope."""
    if not isinstance(payload, dict):
        return payload, None
    if payload.get("Type") == "Notification" and isinstance(payload.get("Message"), str):
        try:
            return strict_json.loads(payload["Message"]), safe_id(str(payload.get("MessageId")))
        except BodyRejected:  # its message is not JSON: the envelope is the payload
            return payload, None
    if {"detail-type", "source", "detail", "id"} <= payload.keys():
        return payload["detail"], safe_id(str(payload["id"]))
    return payload, None
