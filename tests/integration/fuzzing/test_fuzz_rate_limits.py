"""Rate-limit headers (`Retry-After`, `RateLimit-*`) drawn from all a field value can carry, on
429s and on answers: nothing is lost, a 429 is handed back (SQS) or `rate_limit_exceeded` (HTTP),
and no header holds the API back for more than 15 minutes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from local.stand_ins.lambda_events import (
    http_api_event,
    sqs_event,
    sqs_record,
)
from tests.integration.fuzzing.documented_answers import drain
from tests.integration.fuzzing.fuzz_budget import FUZZ, FUZZ_MARKS, examples
from tests.integration.fuzzing.header_value_strategies import (
    rate_limit_values,
    receipt_attribute_values,
    retry_after_values,
)
from tests.integration.fuzzing.json_text_strategies import EMAIL

pytestmark = FUZZ_MARKS


# --- rate-limit headers: whatever the API sends, nothing is lost and no wait is endless --------
RATE_LIMIT_HEADERS = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


rate_limit_headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": retry_after_values,
        "RateLimit-Limit": rate_limit_values,
        "RateLimit-Remaining": rate_limit_values,
        "RateLimit-Reset": rate_limit_values,
    },
)


def _fresh_container(stack, function_env) -> None:
    """A new container and a clean sandbox for each example: a pause one example's headers
    asked for must not hold the next example's request back."""
    from runtime import forget_current_runtime

    forget_current_runtime()
    stack.sales.reset()
    function_env(LOOKUP_MAX_ATTEMPTS="1")


def _sales_wait() -> float:
    from runtime import current_runtime

    return current_runtime().forwarding.enricher.connections["sales"].known_wait()


@settings(FUZZ, max_examples=examples(120))
@given(headers=rate_limit_headers)
def test_a_429_with_any_rate_limit_headers_is_handed_back_for_at_most_15_minutes(
    stack, invoke, function_env, headers
):
    """The issue's malformed Retry-After (abc, 1.5, -1, empty, huge) and everything else a
    header can carry: the record waits in its queue, never forwarded partial, never lost, and
    the pacer holds the API for 15 minutes at most."""
    from lookups.pacing.rate_limit_headers import (
        DEFAULT_RATE_LIMIT_WAIT_SECONDS,
        retry_after_seconds,
    )

    _fresh_container(stack, function_env)
    stack.sales.add_faults([{"status": 429, "headers": headers}], email=EMAIL)
    event = sqs_event([{"email": EMAIL}])
    result = invoke(event, timeout=10)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert drain(stack) == []
    asked = retry_after_seconds(headers.get("Retry-After"))
    paused_for = DEFAULT_RATE_LIMIT_WAIT_SECONDS if asked is None else asked
    assert paused_for - 2 <= _sales_wait() <= 900  # malformed is the default wait, huge is 15 min


@settings(FUZZ, max_examples=examples(80))
@given(
    sent=st.one_of(st.just(None), receipt_attribute_values),
    receives=st.one_of(st.just(None), receipt_attribute_values),
)
def test_any_receipt_attributes_during_an_outage_wait_as_a_new_record_at_most(
    stack, invoke, function_env, function_logs, sent, receives
):
    """A missing or garbage SentTimestamp or ApproximateReceiveCount (None: absent) never
    crashes the batch: a receive count that is not a whole number (as SQS sends it) is the first
    receive, so the record waits at most a new record's first wait (10.6 s with the defaults);
    on what it says is its last receive it goes out partial. Nothing is lost either way."""
    function_env(LOOKUP_MAX_ATTEMPTS="1")
    stack.minimo.outage.start(30)
    try:
        record = sqs_record({"email": EMAIL})
        attributes = {"SentTimestamp": sent, "ApproximateReceiveCount": receives}
        record["attributes"] = {k: v for k, v in attributes.items() if v is not None}
        result = invoke({"Records": [record]}, timeout=10)
        forwarded = drain(stack)
    finally:
        stack.minimo.outage.end()
    whole = isinstance(receives, str) and receives.isascii() and receives.isdigit()
    count = max(1, int(receives)) if whole and len(receives) <= 15 else 1
    if count >= 5:  # INTAKE_MAX_RECEIVE_COUNT: out now, whatever the window says
        assert result == {"batchItemFailures": []}
    if result["batchItemFailures"]:
        assert forwarded == []
        lines = [json.loads(x) for x in function_logs().splitlines() if x.startswith("{")]
        line = [x for x in lines if "waiting_out_an_outage" in x][-1]
        assert line["receives"] == [count, count]
        if count == 1:
            assert line["next_try_in_s"][1] <= 10.6
    else:
        [message] = forwarded
        assert message["body"]["enrichment"]["status"] == "partial"


@settings(FUZZ, max_examples=examples(60))
@given(headers=rate_limit_headers)
def test_a_429_with_any_rate_limit_headers_is_rate_limit_exceeded_over_http(
    stack, invoke, function_env, headers
):
    _fresh_container(stack, function_env)
    stack.sales.add_faults([{"status": 429, "headers": headers}], email=EMAIL)
    result = invoke(http_api_event({"email": EMAIL}), timeout=10)
    assert json.loads(result["body"])["status"] == "partial"
    [message] = drain(stack)
    assert message["body"]["enrichment"]["sales"]["error"]["code"] == "rate_limit_exceeded"


@settings(FUZZ, max_examples=examples(120))
@given(headers=rate_limit_headers)
def test_an_answer_with_any_rate_limit_headers_is_used_and_holds_off_a_minute_at_most(
    stack, invoke, function_env, headers
):
    _fresh_container(stack, function_env)
    answer = {"data": [], "page_info": {"has_next_page": False, "next_page_url": None}}
    stack.sales.add_faults([{"status": 200, "headers": headers, "body": answer}], email=EMAIL)
    event = sqs_event([{"email": EMAIL}])
    assert invoke(event, timeout=10) == {"batchItemFailures": []}
    [message] = drain(stack)
    assert message["body"]["enrichment"]["sales"]["status"] == "not_found"
    assert _sales_wait() <= 60 + 0.1
