"""Pacing under the sales API's real rate limit (the sandbox's, on by default: 20 requests per
second in a sliding window), and what happens to a lookup that would have to wait too long:
handed back to its queue from SQS, forwarded `partial` everywhere else."""

from __future__ import annotations

import json

import pytest

from local.stand_ins.lambda_events import http_api_event, sqs_event

# The sandbox's real 20/s limit and Retry-After, in real seconds: left out of `make test-fast`.
pytestmark = pytest.mark.slow

RETRY_AFTER_30 = {
    "status": 429,
    "headers": {"Retry-After": "30"},
}


def emails(count: int, tag: str) -> list[str]:
    return [f"{tag}-{i}@rate.example" for i in range(count)]


def requests_for(sandbox, tag: str) -> list[dict]:
    """This test's requests: a slow one from an earlier test may still land in the log."""
    return [r for r in sandbox.requests() if (r["email"] or "").startswith(f"{tag}-")]


def most_in_one_second(requests: list[dict]) -> int:
    arrivals = sorted(r["received_at"] for r in requests)
    return max(
        (len([t for t in arrivals[i:] if t < start + 1.0]) for i, start in enumerate(arrivals)),
        default=0,
    )


def metric(output: str, name: str) -> float | None:
    for line in output.splitlines():
        if '"_aws"' in line and name in line:
            return json.loads(line)[name][0]
    return None


def test_a_batch_is_paced_under_the_limit_instead_of_drawing_429s(stack, invoke):
    batch = sqs_event([{"email": e} for e in emails(60, "paced")])
    assert invoke(batch) == {"batchItemFailures": []}
    messages = stack.receive_all()
    assert len(messages) == 60
    assert {m["body"]["enrichment"]["status"] for m in messages} == {"not_found"}
    requests = requests_for(stack.sales, "paced")
    assert [r["status"] for r in requests] == [200] * 60  # not one 429
    assert most_in_one_second(requests) <= 20
    assert stack.sales_control.rate_limit()["refused"] == 0


def test_without_pacing_the_same_batch_draws_429s(stack, invoke, function_env):
    """What the pacing prevents (and proof that the sandbox's limit bites)."""
    function_env(SALES_API_MAX_RPS="0", LOOKUP_MAX_ATTEMPTS="1")
    invoke(sqs_event([{"email": e} for e in emails(40, "unpaced")]))
    assert stack.sales_control.rate_limit()["refused"] > 0
    assert 429 in [r["status"] for r in requests_for(stack.sales, "unpaced")]


def test_sqs_hands_back_what_pacing_cannot_fit_into_the_invocation(
    stack, invoke, function_env, capfd
):
    """5 requests a second, 4 s left (2.7 s for lookups) and 1 s for an attempt: a request may
    wait for its slot for 1.7 s, so the first two windows' 10 lookups fit and the other 10
    records go back to the queue."""
    function_env(SALES_API_MAX_RPS="5", HTTP_TIMEOUT_SECONDS="1")
    records = [{"email": e} for e in emails(20, "handback")]
    event = sqs_event(records)
    capfd.readouterr()
    result = invoke(event, timeout=4)
    handed_back = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert len(handed_back) == 10
    messages = stack.receive_all()
    assert len(messages) == 10  # the other ten were forwarded...
    assert {m["body"]["enrichment"]["status"] for m in messages} == {"not_found"}  # ...whole
    forwarded = {m["body"]["email"] for m in messages}
    by_id = {r["messageId"]: json.loads(r["body"])["email"] for r in event["Records"]}
    assert {by_id[i] for i in handed_back}.isdisjoint(forwarded)
    assert len(requests_for(stack.sales, "handback")) == 10  # none for the ones handed back
    assert metric(capfd.readouterr().out, "EventsHandedBack") == 10


def test_http_forwards_partial_when_pacing_cannot_fit(stack, invoke, function_env):
    """The sender is waiting: its event goes out now, marked partial, rather than handed back."""
    function_env(SALES_API_MAX_RPS="1")
    first, second = emails(2, "waiting")
    assert invoke(http_api_event({"email": first}))["statusCode"] == 202
    result = invoke(http_api_event({"email": second}), timeout=2)
    assert json.loads(result["body"])["status"] == "partial"
    _, late = (m["body"]["enrichment"] for m in stack.receive_all())
    assert late["sales"]["error"]["code"] == "rate_limited"
    assert late["minimo"]["status"] == "not_found"  # Minimo is not paced by default
    assert [r["email"] for r in requests_for(stack.sales, "waiting")] == [first]


def test_a_429_whose_retry_after_does_not_fit_is_handed_back_from_sqs(stack, invoke):
    [email] = emails(1, "told-to-wait")
    stack.sales.add_faults([RETRY_AFTER_30], email=email)
    event = sqs_event([{"email": email}])
    result = invoke(event, timeout=6)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert stack.receive_all() == []
    # Not retried into the limit.
    assert [r["status"] for r in requests_for(stack.sales, "told-to-wait")] == [429]


def test_a_429_whose_retry_after_does_not_fit_goes_out_partial_over_http(stack, invoke):
    stack.sales.add_faults([RETRY_AFTER_30], email="customer@example.com")
    result = invoke(http_api_event({"email": "customer@example.com"}), timeout=6)
    assert json.loads(result["body"])["status"] == "partial"
    [message] = stack.receive_all()
    assert message["body"]["enrichment"]["sales"]["error"]["code"] == "rate_limit_exceeded"


def test_a_429_holds_every_thread_for_its_retry_after(stack, invoke, function_env):
    """At 4 requests a second, one lookup of the first window draws a 429 with Retry-After: 2.
    The lookups already waiting for the next window wait for the Retry-After instead; then
    every lookup succeeds."""
    function_env(SALES_API_MAX_RPS="4")
    # Answered after 0.3 s, when the other lookups have all taken their slots.
    stack.sales.add_faults([{"status": 429, "delay": 0.3, "headers": {"Retry-After": "2"}}])
    batch = sqs_event([{"email": e} for e in emails(12, "held")])
    assert invoke(batch) == {"batchItemFailures": []}
    messages = stack.receive_all()
    assert {m["body"]["enrichment"]["status"] for m in messages} == {"not_found"}
    requests = requests_for(stack.sales, "held")
    [refused] = [r for r in requests if r["status"] == 429]
    told_to_wait_until = refused["answered_at"] + 2
    # Requests already on their way when the 429 came back may land just after it; nothing
    # else is sent until the Retry-After is over (the next window would have opened at 1.05 s).
    early = [
        r
        for r in requests
        if refused["answered_at"] + 0.2 < r["received_at"] < told_to_wait_until - 0.05
    ]
    assert early == []
    assert len(requests) == 13
    assert most_in_one_second(requests) <= 4


@pytest.mark.parametrize("variable", ["SALES_API_MAX_RPS", "MINIMO_API_MAX_RPS"])
def test_a_malformed_rate_is_a_configuration_error(invoke, function_env, variable):
    from settings import ConfigurationError

    function_env(**{variable: "fast"})
    with pytest.raises(ConfigurationError, match=variable):
        invoke({"email": "customer@example.com"})
