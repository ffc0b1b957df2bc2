"""Every source, every enrichment status: what reaches the output queue keeps the consumer's
contract (docs/schema/enriched-event-v1.json). LocalStack.receive_all checks each message it
reads; these cases make sure each kind of message is read at least once."""

from __future__ import annotations

from typing import Any

import pytest

from local.stand_ins.event_contract import check_message
from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_event

SUBMISSIONS = {
    "enriched": {"email": "customer@example.com", "name": "Ada"},
    "not_found": {"email": "nobody@unknown.example"},
    "no_email": {"name": "no address here"},
}


def _event(kind: str, submission: dict[str, Any]) -> Any:
    if kind == "http":
        return http_api_event(submission, provider="contract")
    if kind == "sqs":
        return sqs_event([submission])
    if kind == "eventbridge":
        return eventbridge_event(submission)
    return dict(submission)  # a direct invoke: the event is the submission


@pytest.mark.parametrize("kind", ["http", "sqs", "eventbridge", "direct"])
@pytest.mark.parametrize("status", ["enriched", "not_found", "no_email", "partial"])
def test_every_message_keeps_the_contract(stack, invoke, function_env, kind, status):
    if status == "partial":  # a wrong Minimo key: Minimo fails, the sales API answers
        function_env(MINIMO_API_KEY="mn-wrong-key")
    submission = SUBMISSIONS.get(status, SUBMISSIONS["enriched"])
    invoke(_event(kind, submission))
    [message] = stack.receive_all()  # checked against the contract as it is read
    body = message["body"]
    assert (body["source"]["kind"], body["enrichment"]["status"]) == (kind, status)
    check_message(body, message["attributes"])
