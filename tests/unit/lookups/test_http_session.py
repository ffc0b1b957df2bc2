"""The pooled session and ApiConnection.send (lookups/http_session.py) against the sandbox
Minimo over real HTTP: transient answers retried within the deadline, a Retry-After that would
not fit answered at once rather than waited for, a 429 pausing the API's pacer, transport
failures named without the URL, and no request at all when no attempt could fit."""

from __future__ import annotations

import socket

import pytest

from lookups.http_session import (
    USER_AGENT,
    ApiConnection,
    DeadlineRetry,
    build_session,
)
from lookups.pacing.container_pacer import RequestPacer
from lookups.results import LookupFailed
from platform_services.deadlines import Deadline

EMAIL = "customer@example.com"


def connection(stack, base_url: str | None = None, attempts: int = 3, pacer=None):
    session = build_session(pool_size=2, max_attempts=attempts)
    key = stack.minimo_api_key
    return ApiConnection("Minimo", base_url or stack.minimo.url, lambda: key, session, 2.0, pacer)


def get(api: ApiConnection, seconds: float = 5.0):
    url = f"{api.base_url}/contacts/by-email/{EMAIL}"
    headers = {"Authorization": f"Bearer {api.api_key()}"}
    return api.send("GET", url, deadline=Deadline.in_seconds(seconds), headers=headers)


def test_a_lookup_is_answered_and_names_its_client(stack, function_env):
    assert get(connection(stack)).status_code == 200
    [request] = stack.minimo.requests()
    assert request["headers"]["user-agent"] == USER_AGENT


def test_transient_answers_are_retried_until_one_succeeds(stack, function_env):
    stack.minimo.add_faults([{"status": 503}, {"status": 502}], email=EMAIL)
    assert get(connection(stack)).status_code == 200
    assert [r["status"] for r in stack.minimo.requests()] == [503, 502, 200]


def test_the_last_answer_is_returned_when_the_attempts_run_out(stack, function_env):
    stack.minimo.add_faults([{"status": 503}] * 3, email=EMAIL)
    assert get(connection(stack, attempts=2)).status_code == 503
    assert len(stack.minimo.requests()) == 2


def test_a_retry_after_that_would_not_fit_is_answered_at_once(stack, function_env):
    stack.minimo.add_faults([{"status": 429, "headers": {"Retry-After": "30"}}], email=EMAIL)
    pacer = RequestPacer(100)
    response = get(connection(stack, pacer=pacer), seconds=3.0)
    assert response.status_code == 429
    assert len(stack.minimo.requests()) == 1
    assert pacer.known_wait() > 20  # every other request to the API waits too


def test_no_request_is_made_when_no_attempt_could_fit(stack, function_env):
    with pytest.raises(LookupFailed) as failed:
        get(connection(stack), seconds=0.01)
    assert failed.value.failure.code == "deadline_exceeded"
    assert stack.minimo.requests() == []


def test_a_refused_connection_is_named_without_the_url(stack, function_env):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(LookupFailed) as failed:
        get(connection(stack, base_url=f"http://127.0.0.1:{port}", attempts=1))
    assert failed.value.failure.code == "connection_error"
    assert str(port) not in str(failed.value)


def test_backoff_is_equal_jitter_under_its_cap():
    retry = DeadlineRetry(total=5, backoff_factor=0.1, backoff_max=2.0)
    assert retry.get_backoff_time() == 0.0  # nothing failed yet
    for _ in range(4):
        retry = retry.increment("GET", "/", error=ConnectionError())
    ceiling = 0.1 * 2**3
    assert all(ceiling / 2 <= retry.get_backoff_time() <= ceiling for _ in range(50))
