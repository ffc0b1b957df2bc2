"""Invokes whose sender retries on an error (EventBridge, direct asynchronous invokes): one
delivery, forwarded or raised (intake/outcome_answers.py)."""

from __future__ import annotations

from checks.delivery import Delivery
from forwarding.parts import ForwardingParts
from forwarding.pipeline import enrich_and_forward
from intake.outcome_answers import invoke_answer
from platform_services.deadlines import Deadline, LambdaContextLike
from platform_services.observability import logger


def forward_or_raise(
    delivery: Delivery, forwarding: ForwardingParts, context: LambdaContextLike | None
) -> dict[str, str | None]:
    logger.set_correlation_id(delivery.event_id)
    [outcome] = enrich_and_forward([delivery], forwarding, Deadline.for_lookups(context))
    return invoke_answer(outcome)
