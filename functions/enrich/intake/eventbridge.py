"""EventBridge events: `detail` is the submission and the event's `id` is the delivery id.

`detail` is held to the JSON policy in strict_json (a refusal raises, for this event only), and
the envelope to EventBridge's own shape: an `id`, `source` and `detail-type` that are text, and a
`time` that is an ISO 8601 timestamp; anything else (a direct invoke that only looks like an
EventBridge event) is refused (400). EventBridge invokes asynchronously: a failure raises, so
that Lambda retries and finally hands the event to the function's on-failure destination rather
than dropping it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from checks import strict_json
from checks.delivery import new_delivery
from checks.delivery_ids import safe_id
from intake.answers import malformed
from intake.parts import RetriedInvokeParts
from intake.retried_invokes import forward_or_raise
from platform_services.deadlines import LambdaContextLike
from platform_services.observability import Metric, count

# EventBridge's `time` (AWS docs, "Amazon EventBridge events": RFC 3339, e.g. 2017-12-22T18:43:48Z)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.ASCII
)


def handle(
    event: dict[str, Any], context: LambdaContextLike | None, parts: RetriedInvokeParts
) -> dict:
    count(Metric.EVENTS_RECEIVED)
    bridged = EventBridgeEvent(event)
    received_at = _received_at(event)
    delivery = new_delivery(
        strict_json.accepted(bridged.detail),
        event_id=safe_id(bridged.get_id),
        source=strict_json.accepted(
            {
                "kind": "eventbridge",
                "event_source": bridged.source,
                "detail_type": bridged.detail_type,
            }
        ),
        finder=parts.email_finder,
        require_email=parts.require_email,
        received_at=received_at,
    )
    return forward_or_raise(delivery, parts.forwarding, context)


def _is_a_moment(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:  # 2026-02-30T25:00:00Z has the shape of a moment, not a moment
        return False
    return True


def _received_at(event: dict[str, Any]) -> str | None:
    """Checks the envelope; the event's `time` (None when it has none)."""
    if not all(isinstance(event.get(name), str) for name in ("id", "source", "detail-type")):
        raise malformed("an EventBridge event needs an id, a source and a detail-type")
    if not event["id"]:
        raise malformed("an EventBridge event needs an id")
    time = event.get("time")
    if time is None:
        return None
    if not (isinstance(time, str) and _RFC3339.fullmatch(time) and _is_a_moment(time)):
        raise malformed("an EventBridge event's time is an RFC 3339 timestamp")
    return _in_utc(time)


_NANOSECONDS = re.compile(r"\.\d{7,}")  # beyond what the contract's timestamps carry (6 digits)


def _in_utc(time: str) -> str:
    """`received_at` is UTC with a Z (the consumer's contract): EventBridge sends that already;
    an offset another producer gave is turned into it, to the precision it had."""
    if time.endswith("Z") and not _NANOSECONDS.search(time):
        return time
    moment = datetime.fromisoformat(time).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds" if "." in time else "seconds")[:-6] + "Z"
