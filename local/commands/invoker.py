"""Runs the real handler in this process, as Lambda would, against a running LocalStack."""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass
from typing import Any

from local.stand_ins import task_root
from local.stand_ins.function_template import function_facts
from local.stand_ins.lambda_context import LambdaContextStub


def load_handler() -> Any:
    """The function's modules import each other by bare name, as they do in Lambda."""
    task_root.enter()
    # An invocation that raises before counting anything makes Powertools warn about an empty
    # metrics flush: noise next to the error that matters.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    import app

    return app.lambda_handler


@dataclass
class Invocation:
    result: Any = None
    error: BaseException | None = None

    @property
    def refused(self) -> bool:
        """The function raised a Refusal: its documented answer to a refused direct or
        EventBridge event, not a fault."""
        from intake.answers import Refusal

        return isinstance(self.error, Refusal)


def invoke(handler: Any, event: Any, timeout_seconds: float | None = None) -> Invocation:
    """`timeout_seconds` left in the invocation: the template's Timeout unless given."""
    if timeout_seconds is None:
        timeout_seconds = function_facts().timeout_seconds
    try:
        return Invocation(result=handler(event, LambdaContextStub(timeout_seconds)))
    except Exception as exc:  # what Lambda would report as a function error
        return Invocation(error=exc)


def configuration_error() -> str | None:
    """What the function's first invocation would raise about its environment (the message
    names the variable), or None. Builds the Runtime the handler then reuses."""
    load_handler()
    from runtime import current_runtime
    from settings import ConfigurationError

    try:
        current_runtime()
    except ConfigurationError as exc:
        return str(exc)
    return None


def is_configuration_error(error: BaseException) -> bool:
    from settings import ConfigurationError

    return isinstance(error, ConfigurationError)


def error_name(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def error_details(error: BaseException) -> str:
    """A configuration error is its message (it names the variable); anything else is a bug
    whose traceback is what the developer needs, as Lambda would log it."""
    if is_configuration_error(error):
        return error_name(error)
    return "".join(traceback.format_exception(error)).rstrip()
