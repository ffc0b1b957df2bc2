"""SQS batches from an intake queue: each record's body is one submission.

The whole batch is enriched and forwarded together (addresses deduplicated, lookups in
parallel, SendMessageBatch), then Powertools' batch processor reports exactly the records that
could not be forwarded or were refused, so SQS redelivers only those (and, in the end, moves them
to the intake queue's dead-letter queue). A lookup failure is never a record failure: such an
event is forwarded as `partial`. A lookup that only had to wait longer than the invocation had
left (a rate limit's Retry-After, the pacing of a large batch) is not a failure either: its
record is handed back with its visibility timeout set to when the wait ends
(record_handback.py), to be enriched when SQS delivers it again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

import queued_webhooks
import record_handback
import strict_json
from deadlines import Deadline, LambdaContextLike
from delivery import Delivery, iso_timestamp, new_delivery
from delivery_ids import safe_id, sender_id
from forwarding import HANDED_BACK, Outcome, enrich_and_forward
from observability import Metric, count, failure_details, logger
from refusals import Refusal
from runtime import Runtime

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


UNREADABLE = "unreadable"


class RecordNotForwarded(Exception):
    """Marks a record as failed for the batch processor."""


def handle(event: dict[str, Any], context: LambdaContextLike | None, runtime: Runtime) -> dict:
    records = [SQSRecord(raw) for raw in event["Records"]]
    count(Metric.EVENTS_RECEIVED, len(records))
    failures: dict[str, str] = {}
    deliveries: dict[str, Delivery] = {}
    for record in records:
        try:
            deliveries[record.message_id] = delivery_from(record, runtime)
        except Refusal as refusal:
            count(Metric.EVENTS_REFUSED)
            logger.warning(
                "record refused", extra={"message_id": record.message_id, "code": refusal.code}
            )
            failures[record.message_id] = refusal.code
        except Exception as exc:  # a record nothing foresaw fails alone, not with its batch
            count(Metric.FORWARD_FAILURES)
            logger.error(
                "record could not be read",
                extra={"message_id": record.message_id, **failure_details(exc)},
            )
            failures[record.message_id] = UNREADABLE

    deadline = Deadline.for_lookups(context)
    outcomes = enrich_and_forward(
        list(deliveries.values()), runtime, deadline, hand_back_waits=True
    )
    for message_id, outcome in zip(deliveries, outcomes, strict=True):
        if not outcome.forwarded:
            failures[message_id] = outcome.failure or "not_forwarded"
    waiting = dict(zip(deliveries, outcomes, strict=True))
    _hand_back(records, waiting, runtime, deadline.for_answer())

    def report(record: SQSRecord) -> None:
        if record.message_id in failures:
            raise RecordNotForwarded(failures[record.message_id])

    return process_partial_response(event, report, processor, context)  # type: ignore[arg-type]


def _hand_back(
    records: list[SQSRecord], outcomes: dict[str, Outcome], runtime: Runtime, deadline: Deadline
) -> None:
    """Records whose lookups must wait come back when the wait ends, each queue's at once."""
    by_queue: dict[str, list[record_handback.HandBack]] = {}
    for record in records:
        outcome = outcomes.get(record.message_id)
        if outcome is not None and outcome.failure == HANDED_BACK:
            wait = record_handback.HandBack(
                record.message_id, record.receipt_handle, outcome.wait or 0.0
            )
            by_queue.setdefault(record.event_source_arn, []).append(wait)
    for queue_arn, waits in by_queue.items():
        try:
            queue = record_handback.queue_url(runtime.sqs, queue_arn)
        except ValueError:  # not a queue's ARN: the queue's own visibility timeout applies
            logger.warning("records handed back to a queue with no usable ARN")
            continue
        record_handback.hand_back(runtime.sqs, queue, waits, deadline)


def delivery_from(record: SQSRecord, runtime: Runtime) -> Delivery:
    body = strict_json.loads(record.body)
    if queued_webhooks.is_queued_webhook(body):  # queued mode: checked at the edge already
        return queued_webhooks.delivery_from(body)
    payload, event_id = _unwrap(body)
    sent_at = record.attributes.sent_timestamp
    return new_delivery(
        payload,
        event_id=event_id or sender_id(None, payload) or safe_id(record.message_id),
        source={"kind": "sqs", "queue": record.event_source_arn.rsplit(":", 1)[-1]},
        finder=runtime.email_finder,
        require_email=runtime.settings.require_email,
        received_at=iso_timestamp(int(sent_at)) if sent_at else None,
    )


def _unwrap(payload: Any) -> tuple[Any, str | None]:
    """Submissions that reached the queue through SNS or EventBridge arrive in an envelope."""
    if not isinstance(payload, dict):
        return payload, None
    if payload.get("Type") == "Notification" and isinstance(payload.get("Message"), str):
        try:
            return strict_json.loads(payload["Message"]), safe_id(str(payload.get("MessageId")))
        except Refusal:  # a notification whose message is not JSON: the envelope is the payload
            return payload, None
    if {"detail-type", "source", "detail", "id"} <= payload.keys():
        return payload["detail"], safe_id(str(payload["id"]))
    return payload, None
