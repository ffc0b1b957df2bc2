"""Lambda entry point: wires Powertools and hands each event to the intake for its source.

The folders are the way an event travels:

    intake/       each source's event → deliveries, and the source's answer
      http          API Gateway v1/v2, Function URL  → 202 / 4xx / 503
      sqs           SQS batch                        → batchItemFailures
      eventbridge   EventBridge                      → {"event_id", "status"} or raise
      direct        direct invoke                    → {"event_id", "status"} or raise
    checks/       signatures, bodies, the email, the delivery's id: what is accepted
    lookups/      both APIs at once, paced under their rate limits, cached
    forwarding/   the enriched event onto the queue, each delivery once
    platform_services/   AWS calls, deadlines, keys, logs, metrics, traces

runtime.py builds each stage's parts once per container (settings/ reads the configuration); each
intake is handed its own. An
invocation with too little time left to start is answered at once (intake/early_answers.py).
"""

from __future__ import annotations

from typing import Any

from checks.check_failures import CheckFailed
from intake import early_answers
from intake.answers import Refusal, refusal_for
from intake.event_sources import SourceKind, source_kind
from platform_services.observability import (
    COLD_START_METRIC,
    Metric,
    count,
    logger,
    metrics,
    tracer,
)
from runtime import Runtime, current_runtime, runtime_is_built


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
        return INTAKES[kind](event, context, current_runtime())
    except (Refusal, CheckFailed) as error:  # HTTP and SQS answer them; the others raise
        refusal = refusal_for(error)
        count(Metric.EVENTS_REFUSED)
        logger.warning("event refused", extra={"code": refusal.code})
        if refusal is error:
            raise
        raise refusal from None


# Each source's intake is imported when its first event arrives: a container loads only what its
# own sources need (a cold start is billed).
def http_request(event: Any, context: Any, runtime: Runtime) -> Any:
    from intake import http

    return http.handle(event, context, runtime.http_intake)


def sqs_batch(event: Any, context: Any, runtime: Runtime) -> Any:
    from intake import sqs

    return sqs.handle(event, context, runtime.sqs_intake)


def eventbridge_event(event: Any, context: Any, runtime: Runtime) -> Any:
    from intake import eventbridge

    return eventbridge.handle(event, context, runtime.invoke_intake)


def direct_invoke(event: Any, context: Any, runtime: Runtime) -> Any:
    from intake import direct

    return direct.handle(event, context, runtime.invoke_intake)


INTAKES: dict[SourceKind, Any] = {
    "http": http_request,
    "sqs": sqs_batch,
    "eventbridge": eventbridge_event,
    "direct": direct_invoke,
}
