"""What each source answers for an outcome (intake/outcome_answers.py): the HTTP answers as the
README documents them (docs/how-it-works.md), an SQS record's failure, a retried invoke's error.
The SQS error codes are the queue's own, kept as the reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forwarding.outcomes import MET_BEFORE, Outcome, OutcomeCode
from intake import http
from intake.outcome_answers import ForwardingFailed, http_answer, invoke_answer, record_failure

FORWARDED = Outcome("evt-1", "enriched")
DUPLICATE = Outcome("evt-1", "partial", duplicate=True)


def failed(reason: str) -> Outcome:
    return Outcome("evt-1", None, reason)


def proxy_answer(outcome: Outcome) -> tuple[int, dict, dict]:
    """The answer as the HTTP intake returns it to API Gateway."""
    response = http.answered(http_answer(outcome))
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_what_went_out_is_accepted_with_its_answer():
    assert proxy_answer(FORWARDED) == (
        202,
        {"event_id": "evt-1", "status": "enriched"},
        {"content-type": "application/json"},
    )
    # A duplicate is answered as the first delivery was: the sender stops retrying.
    assert proxy_answer(DUPLICATE)[:2] == (202, {"event_id": "evt-1", "status": "partial"})


@pytest.mark.parametrize(
    ("code", "status", "error_code", "message", "headers"),
    [
        (
            OutcomeCode.IN_PROGRESS,
            409,
            "in_progress",
            "this delivery is being processed; retry later",
            {"retry-after": "5"},
        ),
        (
            OutcomeCode.ID_REUSED,
            409,
            "id_reused",
            "this delivery id was already used for other content on this route",
            {},
        ),
        (
            OutcomeCode.TOO_LARGE,
            413,
            "payload_too_large",
            "the enriched event would exceed the queue's 1 MiB message limit",
            {},
        ),
    ],
)
def test_the_refusals_a_retry_cannot_mend_now(code, status, error_code, message, headers):
    assert proxy_answer(failed(code)) == (
        status,
        {"error": {"code": error_code, "message": message}},
        {"content-type": "application/json", **headers},
    )


RETRYABLE = sorted(
    set(OutcomeCode)
    - MET_BEFORE
    - {OutcomeCode.FORWARDED, OutcomeCode.TOO_LARGE, OutcomeCode.IN_PROGRESS}
)


@pytest.mark.parametrize(
    "reason", [*RETRYABLE, "AWS.SimpleQueueService.NonExistentQueue", "ThrottlingException"]
)
def test_anything_else_is_unavailable_so_that_the_sender_retries(reason):
    assert proxy_answer(failed(reason)) == (
        503,
        {
            "error": {
                "code": "unavailable",
                "message": "the event could not be queued; please retry",
            }
        },
        {"content-type": "application/json"},
    )


def test_an_answer_made_once_is_not_changed_by_an_answer_given():
    first = http.answered(http_answer(failed(OutcomeCode.IN_PROGRESS)))
    first["headers"]["x-extra"] = "1"
    assert "x-extra" not in http.answered(http_answer(failed(OutcomeCode.IN_PROGRESS)))["headers"]


def test_an_sqs_record_fails_with_its_reason_unless_it_went_out():
    assert record_failure(FORWARDED) is None
    assert record_failure(DUPLICATE) is None
    assert record_failure(failed(OutcomeCode.HANDED_BACK)) == "handed_back"
    assert record_failure(failed("KMS.ThrottlingException")) == "KMS.ThrottlingException"


def test_a_retried_invoke_gets_the_answer_or_an_error_naming_the_reason():
    assert invoke_answer(DUPLICATE) == {"event_id": "evt-1", "status": "partial"}
    with pytest.raises(ForwardingFailed, match=r"evt-1 could not be queued: deadline_exceeded"):
        invoke_answer(failed(OutcomeCode.DEADLINE_EXCEEDED))
    with pytest.raises(ForwardingFailed, match=r"other content from the same source \(id_reused\)"):
        invoke_answer(failed(OutcomeCode.ID_REUSED))


@given(st.text(min_size=1, max_size=40))
def test_every_reason_has_exactly_one_answer_per_source(reason):
    outcome = failed(reason)
    status, body, _ = proxy_answer(outcome)
    assert status in {409, 413, 503}
    assert body["error"]["code"] in {"in_progress", "id_reused", "payload_too_large", "unavailable"}
    assert record_failure(outcome) == reason
    with pytest.raises(ForwardingFailed):
        invoke_answer(outcome)


def test_the_codes_are_the_strings_logs_and_failed_records_have_always_carried():
    assert {code.value for code in OutcomeCode} >= {
        "in_progress",
        "id_reused",
        "handed_back",
        "not_serialisable",
        "message_too_large",
        "not_sent",
        "deadline_exceeded",
        "unreadable",
        "secret_unavailable",
        "signing_key_unavailable",
    }
    assert json.dumps({"reason": OutcomeCode.HANDED_BACK}) == '{"reason": "handed_back"}'
    assert f"{OutcomeCode.ID_REUSED}" == "id_reused"
