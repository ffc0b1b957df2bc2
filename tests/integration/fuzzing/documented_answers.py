"""What the fuzz suite holds every answer to: the documented statuses, and strict JSON on the queue
(stack.receive_all checks every message it reads against the strictest reader)."""

from __future__ import annotations

import json

from local.stand_ins.lambda_events import function_url_event, http_api_event, rest_api_event

DOCUMENTED = {202, 400, 401, 405, 409, 413, 415, 422, 503}
# Without a webhook secret or duplicate table, and with SQS up, nothing else is documented:
# a 503 here would mean SQS refused what the function sent.
DOCUMENTED_HERE = {202, 400, 405, 413, 415, 422}
HTTP_BUILDERS = {"v2": http_api_event, "v1": rest_api_event, "url": function_url_event}


def drain(stack) -> list[dict]:
    return stack.receive_all()


def assert_http_answer(stack, result: dict, expected: object = None) -> None:
    """A documented status; on 202 exactly one message (strict JSON: drain reads it so), its
    payload `expected` when given; otherwise nothing queued and an error body."""
    assert result["statusCode"] in DOCUMENTED_HERE
    answer = json.loads(result["body"])
    forwarded = drain(stack)
    if result["statusCode"] == 202:
        [message] = forwarded
        assert message["body"]["event_id"] == answer["event_id"]
        if expected is not None:
            assert message["body"]["payload"] == expected
    else:
        assert forwarded == []
        assert set(answer["error"]) == {"code", "message"}
