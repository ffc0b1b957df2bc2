"""Hands SQS records back to their queue to wait: each record's visibility timeout is set to
when its wait ends (ChangeMessageVisibilityBatch), and the caller reports it as a batch item
failure, so that SQS delivers it again then, and not before.

Waiting costs one receive per wait this way, however long the wait: a record handed back with
the queue's own visibility timeout (120 s) during a 15-minute pause would come back 7 times,
and the intake queue's redrive policy would move it to the dead-letter queue on the fifth.

Lambda's event source mapping leaves a failed record's visibility as it finds it (the AWS
Lambda developer guide, "Handling errors for an SQS event source": the record reappears "after
your queue's visibility timeout runs out"); a timeout the function has set is that timeout.
The IAM permission is sqs:ChangeMessageVisibility on the intake queue alone (template.yaml).

If the call fails, the records are still reported failed and come back after the queue's own
visibility timeout: a wait cut short, never a record lost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import logger

# SQS allows 0 to 43,200 s (12 hours). A wait is at least a second, so that a record never
# comes straight back into the batch that could not take it.
MIN_WAIT_SECONDS = 1
MAX_WAIT_SECONDS = 43_200
_BATCH = 10  # entries per ChangeMessageVisibilityBatch


@dataclass(frozen=True, slots=True)
class HandBack:
    message_id: str
    receipt_handle: str
    wait_seconds: float


def queue_url(sqs: Any, queue_arn: str) -> str:
    """The queue's URL from its ARN (arn:aws:sqs:region:account:name), on the client's own
    endpoint: https://sqs.<region>.amazonaws.com/<account>/<name> in AWS."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", parts[1], "sqs"] or not all(parts[4:]):
        raise ValueError("not an SQS queue's ARN")
    return f"{sqs.meta.endpoint_url.rstrip('/')}/{parts[4]}/{parts[5]}"


def hand_back(sqs: Any, queue: str, records: Sequence[HandBack], deadline: Deadline) -> int:
    """Sets each record's visibility timeout to its wait; returns how many were set."""
    changed = 0
    failures: set[str] = set()
    for start in range(0, len(records), _BATCH):
        batch = records[start : start + _BATCH]
        entries = [
            {"Id": str(i), "ReceiptHandle": r.receipt_handle, "VisibilityTimeout": _timeout(r)}
            for i, r in enumerate(batch)
        ]
        try:
            with aws_calls.within(deadline):
                answer = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=entries)
        except Exception as exc:  # the queue's own timeout applies instead
            failures.add(type(exc).__name__)
            continue
        changed += len(answer.get("Successful", []))
        failures.update(str(f.get("Code")) for f in answer.get("Failed", []))
    if failures:
        logger.warning(
            "records handed back with the queue's own visibility timeout",
            extra={"records": len(records) - changed, "errors": sorted(failures)},
        )
    return changed


def _timeout(record: HandBack) -> int:
    wait = record.wait_seconds
    if math.isnan(wait):
        return MIN_WAIT_SECONDS
    return int(min(MAX_WAIT_SECONDS, max(MIN_WAIT_SECONDS, math.ceil(min(wait, 1e12)))))
