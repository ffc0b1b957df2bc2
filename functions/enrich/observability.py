"""Powertools Logger, Tracer and Metrics, one of each per container, and the metric names."""

from __future__ import annotations

from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()


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
