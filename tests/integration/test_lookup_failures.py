"""Both APIs' failures through the real handler, seen from the sandboxes' request logs: what is
retried (and with the same Idempotency-Key), Retry-After honoured, what is never retried,
broken and truncated answers, and no retry or hung API outliving the invocation."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import wait_for_requests
from tests.handler_results import enrich

# Retries with real backoff, Retry-After waits and timeouts: left out of `make test-fast`.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_transient_failures_are_retried(stack, invoke, status):
    stack.minimo.add_faults([{"status": status}], email="customer@example.com")
    stack.sales.add_faults([{"status": status}, {"status": status}], email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "enriched"
    assert [r["status"] for r in stack.minimo.requests()] == [status, 200]
    assert [r["status"] for r in stack.sales.requests()] == [status, status, 200]


def test_a_retried_sales_request_keeps_its_idempotency_key(stack, invoke):
    stack.sales.add_faults([{"status": 503}, {"reset": True}], email="customer@example.com")
    enrich(invoke, stack, "customer@example.com")
    keys = [r["headers"]["idempotency-key"] for r in stack.sales.requests()]
    assert len(keys) == 3
    assert len(set(keys)) == 1


def test_retry_after_is_honoured(stack, invoke):
    stack.minimo.add_faults(
        [{"status": 429, "headers": {"Retry-After": "1"}}], email="customer@example.com"
    )
    enrich(invoke, stack, "customer@example.com")
    first, second = stack.minimo.requests()
    assert second["received_at"] - first["answered_at"] >= 1.0


def test_failures_after_the_last_attempt_make_the_event_partial(stack, invoke):
    stack.minimo.add_faults([{"status": 503}] * 3, email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment["minimo"] == {
        "status": "error",
        "contact": None,
        # Minimo's own envelope: its code, and its message after ours.
        "error": {
            "code": "service_unavailable",
            "message": "Minimo answered HTTP 503: Service Unavailable",
        },
    }
    assert enrichment["relationship"] == "customer"  # the sales API still answered
    assert len(stack.minimo.requests()) == 3  # LOOKUP_MAX_ATTEMPTS


def test_timeouts_are_retried_then_reported(stack, invoke, function_env):
    function_env(HTTP_TIMEOUT_SECONDS="0.2", LOOKUP_MAX_ATTEMPTS="2")
    stack.sales.add_faults([{"delay": 0.5}] * 2, email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment["sales"]["error"]["code"] == "timeout"
    assert enrichment["contact_id"] == 42
    assert len(wait_for_requests(stack.sales, 2)) == 2


@pytest.mark.parametrize(
    ("fault", "code"),
    [({"reset": True}, "connection_error"), ({"non_json": True}, "invalid_response")],
)
def test_broken_answers(stack, invoke, fault, code):
    stack.minimo.add_faults([fault] * 3, email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["minimo"]["error"]["code"] == code


def test_truncated_answer_is_an_error_not_a_crash(stack, invoke):
    stack.sales.add_faults([{"truncate": True}], email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment["sales"]["error"]["code"] == "connection_error"


@pytest.mark.parametrize(
    ("overrides", "api", "code"),
    [
        ({"MINIMO_API_KEY": "mn-sandbox-wrong"}, "minimo", "unauthorized"),
        ({"SALES_API_KEY": "wrong"}, "sales", "invalid_credentials"),
        ({"SALES_API_KEY": "sk_sandbox_readonly_3Hd9Kf6Zb1"}, "sales", "insufficient_permissions"),
        ({"SALES_API_VERSION": "2024-01-01"}, "sales", "api_version_invalid"),
        ({"MINIMO_API_KEY": None}, "minimo", "missing_api_key"),
    ],
)
def test_configuration_errors_are_not_retried(
    stack, invoke, function_env, capfd, function_logs, overrides, api, code
):
    function_env(**overrides)
    capfd.readouterr()
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment[api]["error"]["code"] == code
    sandbox = stack.minimo if api == "minimo" else stack.sales
    assert len(sandbox.requests()) == (0 if code == "missing_api_key" else 1)
    assert '"LookupConfigErrors":[1.0]' in capfd.readouterr().out
    [error] = [json.loads(line) for line in function_logs().splitlines() if '"ERROR"' in line]
    assert error["message"] == "lookup failed: configuration error"
    assert error["error"]["code"] == code


@pytest.mark.parametrize(
    ("fault", "api"), [({"status": 400}, "minimo"), ({"status": 404}, "sales")]
)
def test_400_and_404_are_never_retried(stack, invoke, fault, api):
    sandbox = stack.minimo if api == "minimo" else stack.sales
    sandbox.add_faults([fault], email="customer@example.com")
    enrich(invoke, stack, "customer@example.com")
    assert len(sandbox.requests()) == 1


def test_no_retry_outlives_the_invocation(stack, invoke):
    stack.minimo.add_faults(
        [{"status": 503, "headers": {"Retry-After": "30"}}], email="customer@example.com"
    )
    started = time.monotonic()
    enrichment = enrich(invoke, stack, "customer@example.com", timeout=6)
    assert time.monotonic() - started < 6
    assert enrichment["minimo"]["error"]["code"] == "service_unavailable"
    assert len(stack.minimo.requests()) == 1  # waiting 30 s would not fit: given up at once


def test_a_hung_api_cannot_hold_the_event_past_the_deadline(stack, invoke, function_env):
    function_env(HTTP_TIMEOUT_SECONDS="10")
    stack.sales.add_faults([{"delay": 8}], email="customer@example.com")
    started = time.monotonic()
    enrichment = enrich(invoke, stack, "customer@example.com", timeout=4)
    assert time.monotonic() - started < 4
    assert enrichment["sales"]["error"]["code"] in ("timeout", "deadline_exceeded")
    assert enrichment["contact_id"] == 42
