"""Shared fixtures: one local stack (moto server + sandbox APIs) for the whole run."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.lambda_context import LambdaContextStub
from local.stack import LocalStack

FUNCTION_DIR = Path(__file__).parents[1] / "functions" / "enrich"
if str(FUNCTION_DIR) not in sys.path:  # pytest's pythonpath covers it; scripts may not
    sys.path.insert(0, str(FUNCTION_DIR))


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture
def function_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """A clean stack and the function's environment; call it again to override variables."""
    stack.reset()

    def apply(**overrides: str | None) -> None:
        for name, value in stack.env(**overrides).items():
            monkeypatch.setenv(name, value)
        for name, value in overrides.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)

    apply()
    return apply


@pytest.fixture
def invoke(function_env: Callable[..., None]) -> Callable[..., Any]:
    """Runs the real handler, as Lambda would, with a context that has `timeout` seconds left."""
    import app

    def run(event: Any, timeout: float = 30) -> Any:
        return app.lambda_handler(event, LambdaContextStub(timeout_seconds=timeout))

    return run
