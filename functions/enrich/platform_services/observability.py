"""Powertools Logger, Tracer and Metrics, one of each per container, and the metric names.

The Tracer is built in tracing.py, which loads the X-Ray SDK only when tracing is on. What the
libraries log is redacted from the start (log_redaction.py).
"""

from __future__ import annotations

import traceback
from enum import StrEnum
from pathlib import Path

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from platform_services import log_redaction, tracing

logger = Logger()
# Before any library logs: what they log is redacted (log_redaction.py).
log_redaction.install(own_logger=logger.name)
tracer = tracing.tracer
metrics = Metrics()
# Powertools' ColdStart metric, once per container. Asked for only where metrics are on: it is
# printed through single_metric, which (Powertools 3.37) ignores POWERTOOLS_METRICS_DISABLED.
COLD_START_METRIC = not is_metrics_disabled()


class Metric(StrEnum):
    """Names the template's alarms and dashboard refer to; renaming one breaks them."""

    EVENTS_RECEIVED = "EventsReceived"
    EVENTS_FORWARDED = "EventsForwarded"
    EVENTS_REFUSED = "EventsRefused"
    FORWARD_FAILURES = "ForwardFailures"
    MINIMO_LOOKUPS = "MinimoLookups"
    SALES_LOOKUPS = "SalesLookups"
    MINIMO_LOOKUP_ERRORS = "MinimoLookupErrors"
    SALES_LOOKUP_ERRORS = "SalesLookupErrors"
    LOOKUP_CONFIG_ERRORS = "LookupConfigErrors"
    LOOKUP_CACHE_HITS = "LookupCacheHits"
    DUPLICATE_DELIVERIES = "DuplicateDeliveries"
    DELIVERY_IDS_REUSED = "DeliveryIdsReused"  # a sender's id came again with other content
    EVENTS_HANDED_BACK = "EventsHandedBack"  # SQS records returned to wait out a rate limit
    EVENTS_QUEUED = "EventsQueued"  # queued mode: webhooks put on the intake queue
    # Requests paced by the container alone because PACING_TABLE could not be used.
    PACING_FALLBACKS = "PacingFallbacks"
    PACING_TABLE_CALLS = "PacingTableCalls"  # DynamoDB calls made for the fleet's pacing
    # Intake records handed back to wait out a failing API, and the age (s since they reached
    # the queue) of the oldest of them, per batch (outage_waits.py).
    RECORDS_WAITING = "RecordsWaiting"
    OLDEST_WAITING_AGE = "OldestWaitingAge"
    # Waiting records made visible at once because their API answered again (recovery_wakeups.py).
    RECORDS_WOKEN = "RecordsWoken"


# One count per enrichment status: EventsEnriched, EventsNotFound, EventsPartial, EventsNoEmail.
STATUS_METRICS = {
    "enriched": "EventsEnriched",
    "not_found": "EventsNotFound",
    "partial": "EventsPartial",
    "no_email": "EventsNoEmail",
}


def count(name: str, value: int = 1) -> None:
    if value:
        metrics.add_metric(name=str(name), unit=MetricUnit.Count, value=value)


def gauge(name: str, seconds: float) -> None:
    """One value per invocation, for a Maximum statistic (CloudWatch has no gauges)."""
    metrics.add_metric(name=str(name), unit=MetricUnit.Seconds, value=seconds)


def _short_path(filename: str) -> str:
    path = Path(filename)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def failure_details(exc: BaseException) -> dict[str, str]:
    """What to log about an unforeseen exception: its type and where it was raised, never its
    message (which may quote the payload)."""
    frames = traceback.extract_tb(exc.__traceback__)
    # The folder too: intake/sqs.py, not a bare sqs.py that could be any module of that name.
    where = f"{_short_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else "unknown"
    return {"error_type": type(exc).__name__, "raised_at": where}
