"""Refusals are made per raise: an exception instance raised again keeps every traceback it
went through, and with it the frames (and their payloads) of every request it refused."""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path

import pytest

from checks.refusals import Refusal

FUNCTION_DIR = Path(__file__).parents[3] / "functions" / "enrich"


MODULES = sorted(
    ".".join(path.relative_to(FUNCTION_DIR).with_suffix("").parts).removesuffix(".__init__")
    for path in FUNCTION_DIR.rglob("*.py")
    if "__pycache__" not in path.parts
)


@pytest.mark.parametrize("module", MODULES)
def test_no_module_holds_a_refusal_instance(module):
    loaded = importlib.import_module(module)
    held = [name for name, value in vars(loaded).items() if isinstance(value, Refusal)]
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
