"""The hand-back's arithmetic: which queue a record goes back to, and for how long (SQS takes
0 to 43,200 s). Handing back through moto and the local event source mapping is tested in
tests/integration/test_fleet_pacing.py."""

from __future__ import annotations

import math

import boto3
import pytest

from forwarding.record_handback import MAX_WAIT_SECONDS, HandBack, _timeout, queue_url


def client(endpoint: str | None = None):
    return boto3.client(
        "sqs",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # no call is made
    )


def test_the_queue_is_named_by_its_arn_on_the_clients_endpoint():
    arn = "arn:aws:sqs:eu-west-1:123456789012:webhook-intake"
    assert queue_url(client(), arn) == (
        "https://sqs.eu-west-1.amazonaws.com/123456789012/webhook-intake"
    )
    assert queue_url(client("http://127.0.0.1:5000/"), arn) == (
        "http://127.0.0.1:5000/123456789012/webhook-intake"
    )


@pytest.mark.parametrize(
    "arn",
    ["", "webhook-intake", "arn:aws:sns:eu-west-1:1:topic", "arn:aws:sqs:eu-west-1::q", "a:b:c"],
)
def test_anything_else_is_no_queue(arn):
    with pytest.raises(ValueError, match="ARN"):
        queue_url(client(), arn)


@pytest.mark.parametrize(
    ("wait", "timeout"),
    [(0.0, 1), (0.2, 1), (1.0, 1), (1.01, 2), (900.0, 900), (1e9, MAX_WAIT_SECONDS)],
)
def test_a_wait_is_whole_seconds_from_one_to_twelve_hours(wait, timeout):
    assert _timeout(HandBack("m", "r", wait)) == timeout


@pytest.mark.parametrize("wait", [math.inf, math.nan, -5.0])
def test_a_wait_that_is_no_number_of_seconds_is_bounded(wait):
    assert 1 <= _timeout(HandBack("m", "r", wait)) <= MAX_WAIT_SECONDS
