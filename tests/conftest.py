"""Shared fixtures: one local stack (moto server + sandbox APIs) for the whole run."""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.stand_ins import task_root
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.stack import LocalStack

# The function's modules import each other as Lambda loads them, from its task root.
FUNCTION_DIR = task_root.enter()

# Powertools reads these when the function's modules are first imported, which may be while
# pytest collects the unit tests, before any fixture has set the function's environment.
for _name, _value in LocalStack.POWERTOOLS_ENV.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture
def function_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """A clean stack and the function's environment; call it again to override variables.

    The lookup cache is off unless a test turns it on, so that each test sees its own requests.
    """
    stack.reset()
    from runtime import forget_current_runtime

    forget_current_runtime()  # a fresh container: no pacing, cache or pools from earlier tests

    def apply(**overrides: str | None) -> None:
        overrides = {"LOOKUP_CACHE_TTL_SECONDS": "0", **overrides}
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


@pytest.fixture
def function_logs() -> Iterator[Callable[[], str]]:
    """Everything the function logs during the test (DEBUG and up), as Lambda would ship it."""
    from platform_services.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    previous_level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    yield stream.getvalue
    logger.setLevel(previous_level)
    logger._logger.removeHandler(handler)


def wait_for_requests(sandbox: Any, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """A sandbox logs a request when it answers; a delayed one may answer after the handler."""
    deadline = time.monotonic() + timeout
    while len(sandbox.requests()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return sandbox.requests()


def missing_queue_url(stack: LocalStack) -> str:
    """A queue URL on the stack's SQS that names no queue: every send to it is refused."""
    return stack.queue_url.rsplit("/", 1)[0] + "/no-such-queue"


@pytest.fixture
def local_stack(stack: LocalStack) -> LocalStack:
    """The run's stack with both sandboxes back to normal, for tests of the stand-ins themselves
    (the function's environment untouched)."""
    stack.minimo.reset()
    stack.sales.reset()
    return stack
