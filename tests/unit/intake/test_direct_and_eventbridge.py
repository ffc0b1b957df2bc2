"""The two intakes whose senders retry on an error (intake/direct.py, intake/eventbridge.py),
called with the container's real parts on the local stack: an accepted event is forwarded and
answered with its id and status; a refusal or a failure raises, so that Lambda retries it and
finally hands it to the on-failure destination."""

from __future__ import annotations

import pytest

from checks.check_failures import CheckFailed
from intake import direct, eventbridge
from intake.answers import Refusal, refusal_for
from intake.outcome_answers import ForwardingFailed
from intake.parts import RetriedInvokeParts
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import eventbridge_event
from runtime import current_runtime
from tests.conftest import missing_queue_url


def parts() -> RetriedInvokeParts:
    """The container's parts for these intakes, built from the environment function_env set."""
    return current_runtime().invoke_intake


def test_a_direct_invoke_is_forwarded_with_the_senders_id(stack, function_env):
    answer = direct.handle(
        {"submission_id": "s-1", "email": "customer@example.com"},
        LambdaContextStub(),
        parts(),
    )
    assert answer == {"event_id": "s-1", "status": "enriched"}
    [message] = stack.receive_all()
    assert message["body"]["source"] == {"kind": "direct"}


def test_a_direct_invoke_without_an_id_is_named_by_its_content(stack, function_env):
    event = {"email": "nobody@example.net"}
    first = direct.handle(event, LambdaContextStub(), parts())
    again = direct.handle(dict(event), LambdaContextStub(), parts())
    assert first["event_id"] == again["event_id"]
    assert first["status"] == "not_found"


@pytest.mark.parametrize("event", [["a list"], "text", {"email": float("nan")}])
def test_a_direct_invoke_that_is_no_json_object_is_refused(stack, function_env, event):
    with pytest.raises((Refusal, CheckFailed)) as refused:  # app.py answers both
        direct.handle(event, LambdaContextStub(), parts())
    assert refusal_for(refused.value).status == 400
    assert stack.receive_all() == []


def test_a_direct_invoke_without_an_email_is_refused_when_one_is_required(stack, function_env):
    function_env(REQUIRE_EMAIL="true")
    with pytest.raises(CheckFailed) as refused:
        direct.handle({"name": "no address"}, LambdaContextStub(), parts())
    assert (refusal_for(refused.value).status, refusal_for(refused.value).code) == (422, "no_email")


def test_a_direct_invoke_that_cannot_be_queued_raises(stack, function_env):
    function_env(OUTPUT_QUEUE_URL=missing_queue_url(stack))
    with pytest.raises(ForwardingFailed):
        direct.handle({"email": "customer@example.com"}, LambdaContextStub(5), parts())


def test_an_eventbridge_event_keeps_its_id_source_and_time(stack, function_env):
    event = eventbridge_event({"email": "customer@example.com"}, event_id="eb-1")
    event["time"] = "2026-12-06T10:00:00+01:00"
    answer = eventbridge.handle(event, LambdaContextStub(), parts())
    assert answer == {"event_id": "eb-1", "status": "enriched"}
    [message] = stack.receive_all()
    assert message["body"]["source"] == {
        "kind": "eventbridge",
        "event_source": "forms.website",
        "detail_type": "form.submitted",
    }
    assert message["body"]["received_at"] == "2026-12-06T09:00:00Z"  # in UTC, as the contract


@pytest.mark.parametrize(
    "change",
    [{"id": ""}, {"source": 7}, {"time": "yesterday"}, {"time": "2026-02-30T25:00:00Z"}],
)
def test_an_envelope_that_is_not_eventbridges_is_refused(stack, function_env, change):
    event = {**eventbridge_event({"email": "customer@example.com"}), **change}
    with pytest.raises(Refusal) as refused:
        eventbridge.handle(event, LambdaContextStub(), parts())
    assert refused.value.status == 400
    assert stack.receive_all() == []


def test_an_eventbridge_event_that_cannot_be_queued_raises(stack, function_env):
    function_env(OUTPUT_QUEUE_URL=missing_queue_url(stack))
    event = eventbridge_event({"email": "customer@example.com"})
    with pytest.raises(ForwardingFailed):
        eventbridge.handle(event, LambdaContextStub(5), parts())
