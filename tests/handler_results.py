"""What the handler's answers and the queue hold, read the same way by every test."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local.stand_ins.lambda_events import http_api_event
from local.stand_ins.stack import LocalStack


def answer(result: dict) -> tuple[int, dict]:
    """An HTTP answer's status and parsed JSON body (every answer the function gives is JSON)."""
    assert result["headers"]["content-type"] == "application/json"
    return result["statusCode"], json.loads(result["body"])


def enrich(invoke: Callable[..., Any], stack: LocalStack, email: str, timeout: float = 30) -> dict:
    """Posts one submission and returns the enrichment that reached the queue."""
    result = invoke(http_api_event({"email": email}), timeout=timeout)
    assert result["statusCode"] == 202, result
    [message] = stack.receive_all()
    return message["body"]["enrichment"]
