"""Webhooks queued by the function's own edge, and the intake queue drained through the local event
source mapping."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from local.stand_ins.sqs_event_source import SqsEventSource
from tests.integration.intake_signing.intake_messages import (
    TYPEFORM_SECRET,
    without_records_in_flight,
)


@pytest.fixture
def queued(stack, function_env) -> Callable[..., None]:
    """Queued mode as deployed: duplicate protection on, Typeform webhooks signed."""
    without_records_in_flight(stack)

    def apply(**overrides: str | None) -> None:
        function_env(
            INTAKE_QUEUE_URL=stack.intake_queue_url,
            IDEMPOTENCY_TABLE=stack.table_name,
            WEBHOOK_SECRETS=json.dumps({"typeform": TYPEFORM_SECRET}),
            **overrides,
        )

    apply()
    return apply


@pytest.fixture
def drain(stack) -> Callable[[], None]:
    import app

    def run() -> None:
        SqsEventSource(
            stack.client("sqs"), stack.intake_queue_url, app.lambda_handler, batching_window=0.2
        ).drain()

    return run
