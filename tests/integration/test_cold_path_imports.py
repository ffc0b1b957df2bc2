"""What a cold start loads is what its first events need (docs/cold-start.md): each in a fresh
process, as a new container starts, the function's modules imported after each event."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.stand_ins.lambda_events import http_api_event, sqs_event
from tests.fresh_process import run_driver

# Fresh processes: left out of `make test-fast`.
pytestmark = pytest.mark.slow

DRIVER = "tests.integration.cold_start_driver"
EMAIL = "customer@example.com"

# Loaded only by the SQS intake, a record waiting out an outage, or a table that asks for it.
NOT_FOR_A_WEBHOOK = {
    "intake.sqs",
    "intake.eventbridge",
    "intake.direct",
    "intake.queued_mode",
    "forwarding.outage_waits",
    "forwarding.outage_backoff",
    "forwarding.queue_receipts",
    "forwarding.record_handback",
    "forwarding.recovery_wakeups",
    "forwarding.ledger",
    "lookups.partial_answers",
    "lookups.pacing.fleet_pacer",
    "lookups.pacing.schedule",
    "lookups.pacing.table_clock",
    "checks.multipart_form",
}


def modules_after(stack, tmp_path: Path, events: list, **variables: str) -> list[set[str]]:
    env = stack.env(LOOKUP_CACHE_TTL_SECONDS="0", **variables)
    outcomes, _ = run_driver(DRIVER, events, tmp_path, env, "10")
    return [set(outcome["function_modules"]) for outcome in outcomes]


def test_a_first_webhook_loads_nothing_it_does_not_use(stack, function_env, tmp_path):
    [after_webhook] = modules_after(stack, tmp_path, [http_api_event({"email": EMAIL})])
    assert {"app", "intake.http", "forwarding.pipeline"} <= after_webhook  # it was handled
    assert after_webhook & NOT_FOR_A_WEBHOOK == set()
    assert len(stack.receive_all()) == 1


def test_what_a_queue_and_the_tables_ask_for_is_loaded_when_they_do(stack, function_env, tmp_path):
    webhook, batch = modules_after(
        stack,
        tmp_path,
        [http_api_event({"email": EMAIL}), sqs_event([{"email": EMAIL}])],
        IDEMPOTENCY_TABLE=stack.table_name,
        PACING_TABLE=stack.pacing_table_name,
        SALES_API_MAX_RPS="20",
    )
    assert {"forwarding.ledger", "lookups.partial_answers", "lookups.pacing.fleet_pacer"} <= webhook
    assert "forwarding.outage_waits" not in webhook
    assert {"intake.sqs", "forwarding.outage_waits", "forwarding.queue_receipts"} <= batch
