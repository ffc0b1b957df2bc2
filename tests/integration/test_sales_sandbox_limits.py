"""The sales sandbox's Idempotency-Key, rate limit and opt-in pagination, as OpenMRP's gateway
has them (docs/sales-api.md), over plain `requests`."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.integration.sandbox_requests import (
    FIND,
    sales_error,
)


def test_sales_replays_what_a_key_answered(sales):
    first = sales({"email": "customer@example.com"}, Idempotency_Key="k1")
    assert "Idempotent-Replayed" not in first.headers
    again = sales({"email": "customer@example.com"}, Idempotency_Key="k1")
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    refused = sales({"email": "nope"}, Idempotency_Key="k2")  # a 4xx is kept too
    assert sales({"email": "nope"}, Idempotency_Key="k2").headers["Idempotent-Replayed"] == "true"
    assert refused.status_code == 400


def test_sales_refuses_a_key_reused_with_other_parameters(sales):
    sales({"email": "customer@example.com"}, Idempotency_Key="k1")
    other_body = sales({"email": "supplier@partner.example"}, Idempotency_Key="k1")
    other_query = sales(
        {"email": "customer@example.com"}, query="include=account", Idempotency_Key="k1"
    )
    for reused in (other_body, other_query):
        assert sales_error(reused) == (400, "validation_failed", None)
        assert reused.json()["error"]["type"] == "idempotency_error"
    # Keys are the caller's own: another caller's k1 is another key.
    assert (
        sales({"email": "supplier@partner.example"}, key="", Idempotency_Key="k1").status_code
        == 401
    )


def test_sales_refuses_a_key_still_in_flight(stack, sales):
    stack.sales_control.set_latency(0.5)
    answers: list[requests.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(
            sales({"email": "customer@example.com"}, Idempotency_Key="k3")
        )
    )
    first.start()
    time.sleep(0.2)
    overlapping = sales({"email": "customer@example.com"}, Idempotency_Key="k3")
    first.join()
    assert sales_error(overlapping) == (409, "idempotency_in_progress", None)
    assert overlapping.json()["error"]["is_transient"] is True
    assert "Retry-After" not in overlapping.headers
    assert answers[0].status_code == 200


def test_sales_refuses_an_idempotency_key_over_255_characters(sales):
    assert sales({"email": "a@x.io"}, Idempotency_Key="k" * 255).status_code == 200
    answer = sales({"email": "a@x.io"}, Idempotency_Key="k" * 256)
    assert sales_error(answer) == (400, "invalid_format", "Idempotency-Key")


def test_sales_allows_20_requests_a_second_then_answers_429(stack, sales):
    settings = stack.sales_control.rate_limit()
    assert (settings["enabled"], settings["limit"], settings["window_seconds"]) == (True, 20, 1)
    stack.sales_control.set_rate_limit(window_seconds=30)  # the same limit, on a slow machine too
    answers = [sales({"email": "customer@example.com"}) for _ in range(21)]
    assert [a.status_code for a in answers] == [200] * 20 + [429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["19", "18", "17"]
    refused = answers[-1]
    assert sales_error(refused) == (429, "rate_limit_exceeded", None)
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["is_transient"] is True
    assert refused.headers["Retry-After"] == "1"  # 1.5 s, whole seconds
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert "OpenMRP-Version" not in refused.headers  # the limiter answers before it is set


@pytest.mark.slow  # refusals in a row, in real seconds
def test_sales_retry_after_grows_with_each_refusal_in_a_row(stack, sales):
    stack.sales_control.set_rate_limit(limit=1, window_seconds=3, jitter=0)
    assert sales({"email": "customer@example.com"}).status_code == 200
    retry_afters = [int(sales({"email": "a@x.io"}).headers["Retry-After"]) for _ in range(18)]
    assert retry_afters[:6] == [1, 2, 3, 5, 7, 11]  # 1.5^n s, whole seconds
    assert retry_afters[-1] == 900  # capped at 15 minutes
    # Refusals do not fill the window: once it slides, a request goes, and the count restarts.
    time.sleep(3.1)
    assert sales({"email": "customer@example.com"}).status_code == 200
    assert sales({"email": "a@x.io"}).headers["Retry-After"] == "1"
    assert stack.sales_control.rate_limit()["refused"] == 19


@pytest.mark.slow  # the window slides in real time
def test_sales_rate_limit_window_slides(stack, sales):
    stack.sales_control.set_rate_limit(limit=5, window_seconds=0.5)
    assert [sales({"email": "a@x.io"}).status_code for _ in range(6)] == [200] * 5 + [429]
    time.sleep(0.6)
    assert sales({"email": "a@x.io"}).status_code == 200


def test_sales_pagination_is_an_opt_in_fault(stack, sales):
    stack.sales_control.set_pagination(2)
    query = "include=account_user&relationships=customer&relationships=supplier"
    pages = [sales({"email": "shared@multi.example"}, query=query).json()]
    while next_url := pages[-1]["page_info"]["next_page_url"]:
        assert next_url.startswith(f"{FIND}?")  # relative to the host, the query carried along
        pages.append(sales({"email": "shared@multi.example"}, path=next_url).json())
    assert [len(p["data"]) for p in pages] == [2, 1]
    assert [p["page_info"]["has_prev_page"] for p in pages] == [False, True]
    matches = [m for p in pages for m in p["data"]]
    assert sorted(m["relationship"] for m in matches) == ["customer", "customer", "supplier"]
    assert all(m["account_user"]["status"] == "active" for m in matches)
    stack.sales_control.set_pagination(None)
    assert sales({"email": "shared@multi.example"}).json()["page_info"]["next_page_url"] is None
