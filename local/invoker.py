"""Runs the real handler in this process, as Lambda would, against a running LocalStack."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.lambda_context import LambdaContextStub

FUNCTION_DIR = Path(__file__).resolve().parents[1] / "functions" / "enrich"


def load_handler() -> Any:
    """The function's modules import each other by bare name, as they do in Lambda."""
    if str(FUNCTION_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTION_DIR))
    import app

    return app.lambda_handler


@dataclass
class Invocation:
    result: Any = None
    error: BaseException | None = None


def invoke(handler: Any, event: Any, timeout_seconds: float = 30) -> Invocation:
    try:
        return Invocation(result=handler(event, LambdaContextStub(timeout_seconds)))
    except Exception as exc:  # what Lambda would report as a function error
        return Invocation(error=exc)
