"""Direct invocations (`aws lambda invoke`, Step Functions, another function): the event is the
submission itself. Failures raise, so that an asynchronous invoke is retried and then reaches the
function's on-failure destination instead of vanishing."""

from __future__ import annotations

from typing import Any

from checks import strict_json
from checks.delivery import new_delivery
from checks.delivery_ids import content_id, sender_id
from intake.answers import malformed
from intake.parts import RetriedInvokeParts
from intake.retried_invokes import forward_or_raise
from platform_services.deadlines import LambdaContextLike
from platform_services.observability import Metric, count


def handle(
    event: Any, context: LambdaContextLike | None, parts: RetriedInvokeParts
) -> dict[str, str]:
    count(Metric.EVENTS_RECEIVED)
    if not isinstance(event, dict):
        raise malformed("a direct invocation must pass a JSON object")
    payload = strict_json.accepted(event)  # the same JSON policy as an HTTP body
    delivery = new_delivery(
        payload,
        event_id=sender_id(None, payload) or content_id("direct", payload),
        source={"kind": "direct"},
        finder=parts.email_finder,
        require_email=parts.require_email,
    )
    return forward_or_raise(delivery, parts.forwarding, context)
