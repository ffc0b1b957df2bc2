"""Hostile sizes and shapes: bounded work, clear refusals, nothing accepted then lost."""

from __future__ import annotations

import json

import pytest

from local.stand_ins.lambda_events import http_api_event, sqs_event


def status_and_code(result: dict) -> tuple[int, str | None]:
    return result["statusCode"], json.loads(result["body"]).get("error", {}).get("code")


def test_deeply_nested_json_is_refused(stack, invoke):
    body = "[" * 100_000 + "]" * 100_000
    assert status_and_code(invoke(http_api_event(body))) == (400, "bad_request")


def test_very_many_fields_and_huge_strings_are_handled(stack, invoke):
    payload = {f"field{i}": "x" * 5 for i in range(8_000)}  # ~180 kB, under MAX_BODY_BYTES
    payload["essay"] = "y" * 50_000
    payload["email"] = "customer@example.com"
    assert status_and_code(invoke(http_api_event(payload))) == (202, None)
    [message] = stack.receive_all()
    assert message["body"]["enrichment"]["contact_id"] == 42
    assert len(message["body"]["payload"]) == 8_002


def test_too_many_form_fields_are_refused(stack, invoke):
    body = "&".join(f"f{i}=v" for i in range(5_000)) + "&email=a%40x.io"
    event = http_api_event(body, content_type="application/x-www-form-urlencoded")
    assert status_and_code(invoke(event)) == (400, "bad_request")


@pytest.fixture
def huge_bodies(function_env):
    function_env(MAX_BODY_BYTES=str(1_048_576))
    # Under MAX_BODY_BYTES, but with the enrichment added, over SQS's 1 MiB.
    return {"email": "customer@example.com", "attachment": "z" * 1_048_000}


def test_an_event_too_large_for_sqs_is_refused_for_good(stack, invoke, huge_bodies):
    assert status_and_code(invoke(http_api_event(huge_bodies))) == (413, "payload_too_large")
    assert stack.receive_all() == []


def test_an_sqs_record_too_large_to_forward_is_reported(stack, invoke, huge_bodies):
    event = sqs_event([huge_bodies, {"email": "customer@example.com"}])
    result = invoke(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert len(stack.receive_all()) == 1  # the other record went through


def test_a_direct_invoke_too_large_to_forward_raises(stack, invoke, huge_bodies):
    with pytest.raises(Exception, match="message_too_large"):
        invoke(huge_bodies)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_CONCURRENCY", "inf"),
        ("MAX_CONCURRENCY", "9e18"),
        ("LOOKUP_MAX_ATTEMPTS", "1e400"),
        ("MAX_BODY_BYTES", "nan"),
        ("HTTP_TIMEOUT_SECONDS", "1e400"),
        ("SALES_API_MAX_RPS", "inf"),
    ],
)
def test_a_number_setting_out_of_range_stops_the_function_naming_it(
    stack, invoke, function_env, name, value
):
    from settings import ConfigurationError

    function_env(**{name: value})
    with pytest.raises(ConfigurationError, match=f"^{name} must be ") as caught:
        invoke(http_api_event({"email": "customer@example.com"}))
    assert value not in str(caught.value).removeprefix(name)
    assert stack.receive_all() == []


def test_a_fifo_intake_queue_stops_the_function_at_start_naming_it(stack, invoke, function_env):
    from settings import ConfigurationError

    function_env(INTAKE_QUEUE_URL=stack.fifo_queue_url)
    with pytest.raises(ConfigurationError, match=r"^INTAKE_QUEUE_URL must be a standard queue"):
        invoke(http_api_event({"email": "customer@example.com"}))
    assert stack.receive_all(stack.fifo_queue_url) == []
