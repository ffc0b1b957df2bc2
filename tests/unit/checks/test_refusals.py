"""Refusals and failed checks are made per raise: an exception instance raised again keeps every
traceback it went through, and with it the frames (and their payloads) of every request it
refused. Each check's reason has its documented answer."""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path

import pytest

from checks.check_failures import CheckFailed, Reason
from intake.answers import STATUS_AND_CODE, Refusal, refusal_for

FUNCTION_DIR = Path(__file__).parents[3] / "functions" / "enrich"


MODULES = sorted(
    ".".join(path.relative_to(FUNCTION_DIR).with_suffix("").parts).removesuffix(".__init__")
    for path in FUNCTION_DIR.rglob("*.py")
    if "__pycache__" not in path.parts
)


@pytest.mark.parametrize("module", MODULES)
def test_no_module_holds_a_refusal_instance(module):
    loaded = importlib.import_module(module)
    held = [n for n, value in vars(loaded).items() if isinstance(value, Refusal | CheckFailed)]
    assert held == [], f"{module} keeps Refusal instances at module level: {held}"


def test_a_module_level_refusal_would_be_caught():
    """The check above sees an instance where one is (a module made for the purpose)."""
    import types

    planted = types.ModuleType("planted")
    planted.TOO_LARGE = Refusal(413, "payload_too_large", "x")
    assert [n for n, v in vars(planted).items() if isinstance(v, Refusal)] == ["TOO_LARGE"]


def test_an_oversized_queued_webhook_is_refused_with_a_new_refusal_each_time():
    from checks.delivery import Delivery
    from intake.queued_webhooks import MAX_QUEUED_BYTES, queued_message

    delivery = Delivery("big-1", {"kind": "http"}, {"pad": "x" * MAX_QUEUED_BYTES}, None, "t")
    refusals = []
    for _ in range(5):
        with pytest.raises(Refusal) as caught:
            queued_message(delivery, lambda body: "v1=unused")
        refusals.append(caught.value)
    assert len({id(r) for r in refusals}) == 5
    depths = {len(traceback.extract_tb(r.__traceback__)) for r in refusals}
    assert len(depths) == 1  # the fifth carries no more history than the first


def test_every_reason_has_its_documented_answer():
    """DESIGN.md's HTTP table: what each failed check answers."""
    assert STATUS_AND_CODE == {
        Reason.MALFORMED: (400, "bad_request"),
        Reason.UNSUPPORTED_MEDIA_TYPE: (415, "unsupported_media_type"),
        Reason.NOT_PROVEN: (401, "unauthorized"),
        Reason.UNVERIFIABLE: (503, "unavailable"),
        Reason.NO_EMAIL: (422, "no_email"),
    }


@pytest.mark.parametrize("failure", CheckFailed.__subclasses__())
def test_a_failed_check_becomes_a_new_refusal_with_its_message(failure):
    checked = failure("what is wrong", diagnosis="for the log", details={"provider": "p"})
    first, second = refusal_for(checked), refusal_for(checked)
    assert first is not second
    assert (first.status, first.code) == STATUS_AND_CODE[failure.reason]
    assert first.to_dict() == {"error": {"code": first.code, "message": "what is wrong"}}
    assert "for the log" not in str(first.to_dict())


def test_a_check_failure_logs_its_diagnosis_and_not_its_answer(caplog):
    """The operator's diagnosis goes to the log (an error when the deployment must change), and
    is never part of the answer."""
    from checks.check_failures import SignatureRejected

    misconfigured = SignatureRejected(
        "no signature can be verified on this route",
        diagnosis="give the provider its own secret",
        details={"provider": "tally"},
        misconfigured=True,
    )
    refusal_for(misconfigured)
    refusal_for(SignatureRejected("the signature does not match"))
    [record] = caplog.records
    assert record.levelname == "ERROR"
    assert record.getMessage() == "give the provider its own secret"
    assert record.provider == "tally"
