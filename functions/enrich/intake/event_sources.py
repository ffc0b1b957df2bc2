"""Tells which AWS source (if any) shaped an incoming Lambda event."""

from __future__ import annotations

from typing import Any, Literal

SourceKind = Literal["http", "sqs", "eventbridge", "direct"]


def source_kind(event: Any) -> SourceKind:
    if not isinstance(event, dict):
        return "direct"
    context = event.get("requestContext")
    if isinstance(context, dict) and ("http" in context or "httpMethod" in event):
        return "http"  # HTTP API v2 and Function URLs carry requestContext.http; REST v1 httpMethod
    records = event.get("Records")
    first = records[0] if isinstance(records, list) and records else None
    if isinstance(first, dict) and first.get("eventSource") == "aws:sqs":
        return "sqs"
    if {"detail-type", "source", "detail"} <= event.keys():
        return "eventbridge"
    return "direct"
