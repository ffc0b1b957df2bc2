"""EventBridge events: `detail` is the submission and the event's `id` is the delivery id.

`detail` is held to the JSON policy in strict_json (a refusal raises, for this event only).
EventBridge invokes asynchronously: a failure raises, so that Lambda retries and finally hands
the event to the function's on-failure destination rather than dropping it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

import strict_json
from deadlines import LambdaContextLike
from delivery import new_delivery
from delivery_ids import safe_id
from forwarding import forward_or_raise
from observability import Metric, count
from runtime import Runtime


def handle(event: dict[str, Any], context: LambdaContextLike | None, runtime: Runtime) -> dict:
    count(Metric.EVENTS_RECEIVED)
    bridged = EventBridgeEvent(event)
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
        finder=runtime.email_finder,
        require_email=runtime.settings.require_email,
        received_at=bridged.time.replace("+00:00", "Z") if bridged.time else None,
    )
    return forward_or_raise(delivery, runtime, context)
