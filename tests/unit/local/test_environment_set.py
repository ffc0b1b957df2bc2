"""environment_set: what `make demo`, `make invoke` and the limits bench run the handler under,
and the process's environment put back afterwards, even when the body raises."""

from __future__ import annotations

import os

import pytest

from local.stand_ins.stack import environment_set


def test_values_are_set_and_removed_then_put_back(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ENV_SET_KEPT", "before")
    monkeypatch.setenv("ENV_SET_REMOVED", "before")
    monkeypatch.delenv("ENV_SET_NEW", raising=False)
    values = {"ENV_SET_KEPT": "during", "ENV_SET_REMOVED": None, "ENV_SET_NEW": "new"}
    seen = {}

    def run_and_fail() -> None:
        with environment_set(values):
            seen.update({name: os.environ.get(name) for name in values})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        run_and_fail()
    assert seen == values
    assert os.environ["ENV_SET_KEPT"] == "before"
    assert os.environ["ENV_SET_REMOVED"] == "before"
    assert "ENV_SET_NEW" not in os.environ
