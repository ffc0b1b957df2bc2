"""Lambda entry point: wires Powertools and hands each event to the intake for its source.

    HTTP (API Gateway v1/v2, Function URL)  → http_intake        → 202 / 4xx / 503
    SQS batch                               → sqs_intake         → batchItemFailures
    EventBridge                             → eventbridge_intake → {"event_id", "status"} or raise
    direct invoke                           → direct_intake      → {"event_id", "status"} or raise

Every intake ends in forwarding.enrich_and_forward: both lookups at once, then SQS. An
invocation with too little time left for that is answered at once (early_answers.py).
"""

from __future__ import annotations

import importlib
from typing import Any

import early_answers
from event_sources import source_kind
from observability import COLD_START_METRIC, Metric, count, logger, metrics, tracer
from refusals import Refusal
from runtime import current_runtime, runtime_is_built

# Each source's intake module, imported when its first event arrives: a container loads only
# what its own sources need (a cold start is billed).
INTAKES = {
    "http": "http_intake",
    "sqs": "sqs_intake",
    "eventbridge": "eventbridge_intake",
    "direct": "direct_intake",
}


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: an event may carry a webhook token in
# its query or Authorization header, and payloads are never logged.
@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=COLD_START_METRIC)
def lambda_handler(event: Any, context: Any) -> Any:
    kind = source_kind(event)
    logger.append_keys(source_kind=kind)
    # Before anything is built or imported: on a cold start that costs more than it may have.
    left = early_answers.too_little_time(context, runtime_built=runtime_is_built())
    if left is not None:
        logger.warning("too little time left to start; answered at once", extra={"left_s": left})
        return early_answers.answer(kind, event)
    try:
        intake = importlib.import_module(INTAKES[kind])
        return intake.handle(event, context, current_runtime())
    except Refusal as refusal:  # HTTP and SQS answer refusals themselves; the others raise
        count(Metric.EVENTS_REFUSED)
        logger.warning("event refused", extra={"code": refusal.code})
        raise
