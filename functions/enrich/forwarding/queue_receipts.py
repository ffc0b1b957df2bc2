"""What SQS says of each record it delivers, read leniently: when the record first reached its
queue (`SentTimestamp`, epoch milliseconds) and how many times it has been received
(`ApproximateReceiveCount`, this receive included). Lambda's event source mapping passes both
as strings in each record's `attributes` (AWS Lambda developer guide, "Using Lambda with Amazon
SQS": the example event).

SQS always sends both. A record whose values are missing or are not what SQS could have sent (a
direct invoke shaped like a batch, a test) is treated as new: first on the queue now, on its
first receive. It never crashes anything and never waits longer than a new record could: the
queue counts receives itself, and its redrive policy ends any wait (outage_waits.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from checks.delivery import Delivery, iso_timestamp
from checks.delivery_ids import DeliveryKey

if TYPE_CHECKING:  # Powertools' data classes load every event type: not on the HTTP path
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# SQS keeps a message at most 14 days (MessageRetentionPeriod): an older SentTimestamp is no
# record's. A later one is no record's either, beyond what clocks may disagree by.
MAX_AGE_SECONDS = 14 * 24 * 60 * 60
CLOCK_SKEW_SECONDS = 300
_WHOLE_NUMBER = re.compile(r"[0-9]{1,15}", re.ASCII)  # up to year 9999 in milliseconds


@dataclass(frozen=True, slots=True)
class Receipt:
    sent_at: float  # epoch seconds when the record first reached its queue
    receive_count: int  # 1 on its first receive

    def age(self, now: float) -> float:
        return max(0.0, now - self.sent_at)


def sent_at_ms(attributes: Mapping[str, Any]) -> int | None:
    """SentTimestamp as a datetime can hold it; None when missing or not a whole number."""
    value = attributes.get("SentTimestamp")
    if not isinstance(value, str) or not _WHOLE_NUMBER.fullmatch(value):
        return None
    try:
        datetime.fromtimestamp(int(value) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return int(value)


def received_at(attributes: Mapping[str, Any]) -> str:
    """When SQS received the record (the event's `received_at`); now when it cannot say."""
    sent = sent_at_ms(attributes)
    return iso_timestamp(sent) if sent is not None else iso_timestamp()


def receipt(attributes: Mapping[str, Any], now: float) -> Receipt:
    sent = sent_at_ms(attributes)
    sent_at = sent / 1000 if sent is not None else now
    if not now - MAX_AGE_SECONDS <= sent_at <= now + CLOCK_SKEW_SECONDS:
        sent_at = now  # no record's time: treated as new
    count = attributes.get("ApproximateReceiveCount")
    receives = int(count) if isinstance(count, str) and _WHOLE_NUMBER.fullmatch(count) else 1
    return Receipt(sent_at, max(1, receives))


def by_delivery(
    records: list[SQSRecord], deliveries: Mapping[str, Delivery], now: float | None = None
) -> dict[DeliveryKey, Receipt]:
    """Each delivery's receipt; a delivery that two records of the batch carry (SQS delivered
    it twice) takes the more pressing: the earlier arrival, the higher receive count."""
    now = time.time() if now is None else now
    receipts: dict[DeliveryKey, Receipt] = {}
    for record in records:
        delivery = deliveries.get(record.message_id)
        if delivery is None:
            continue
        found = receipt(record.raw_event.get("attributes") or {}, now)
        seen = receipts.get(delivery.key)
        if seen is not None:
            found = Receipt(
                min(seen.sent_at, found.sent_at), max(seen.receive_count, found.receive_count)
            )
        receipts[delivery.key] = found
    return receipts
