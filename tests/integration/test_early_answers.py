"""The deadline is checked before the runtime is built (docs/trust-boundaries.md): an invocation
with too little time left is answered at once, with the answer that makes its sender retry, and
nothing is built, looked up or sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_event
from tests.fresh_process import run_driver

# Cold starts, each in a fresh process: left out of `make test-fast`.
pytestmark = pytest.mark.slow

DRIVER = "tests.integration.cold_start_driver"  # run from the repo root
EMAIL = "customer@example.com"


def cold_start(stack, tmp_path: Path, events: list, seconds_left: float) -> list[dict]:
    """The events in a fresh process (a new container), each with `seconds_left`."""
    env = stack.env(LOOKUP_CACHE_TTL_SECONDS="0")
    outcomes, _ = run_driver(DRIVER, events, tmp_path, env, str(seconds_left))
    return outcomes


def test_a_cold_start_with_50_ms_left_answers_every_source_within_them(
    stack, function_env, tmp_path
):
    batch = sqs_event([{"email": EMAIL}, {"email": "other@example.com"}])
    events = [
        http_api_event({"email": EMAIL}),
        batch,
        eventbridge_event({"email": EMAIL}),
        {"email": EMAIL},  # a direct invoke
    ]
    http, sqs, eventbridge, direct = cold_start(stack, tmp_path, events, seconds_left=0.05)
    for outcome in (http, sqs, eventbridge, direct):
        assert outcome["seconds"] < 0.05, outcome
        assert outcome["left_at_answer_ms"] > 0
        assert outcome["runtime_built"] is False  # nothing was built for an invocation that ends
    assert http["result"]["statusCode"] == 503
    assert json.loads(http["result"]["body"])["error"]["code"] == "unavailable"
    assert sqs["result"] == {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in batch["Records"]]
    }
    assert (eventbridge["error"], direct["error"]) == ("TooLittleTime", "TooLittleTime")
    assert stack.receive_all() == []
    assert stack.minimo.requests() == []


def test_a_cold_start_with_enough_time_builds_the_runtime_and_forwards(
    stack, function_env, tmp_path
):
    [http] = cold_start(stack, tmp_path, [http_api_event({"email": EMAIL})], seconds_left=5)
    assert http["result"]["statusCode"] == 202
    assert http["runtime_built"] is True
    assert len(stack.receive_all()) == 1


TOO_LITTLE = "too little time was left to handle the request; please retry"


@pytest.mark.parametrize(("left", "early"), [(0.1, True), (0.5, False), (3, False)])
def test_a_warm_container_needs_only_the_answers_margin(stack, invoke, left, early):
    """Warm, the runtime is built: only the answer's margin (0.2 s) must be left to try."""
    assert invoke(http_api_event({"email": EMAIL}))["statusCode"] == 202  # builds the runtime
    stack.receive_all()
    result = invoke(http_api_event({"email": EMAIL, "n": 2}), timeout=left)
    message = json.loads(result["body"]).get("error", {}).get("message")
    assert (message == TOO_LITTLE) == early
    if early:
        assert result["statusCode"] == 503
        assert stack.receive_all() == []
    if left >= 3:  # time enough for the lookups and the send
        assert result["statusCode"] == 202
        assert len(stack.receive_all()) == 1
