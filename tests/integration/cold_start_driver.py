"""Runs the real handler in a fresh process, as a new Lambda container does, giving each event a
context with only SECONDS_LEFT left (test_early_answers.py), and says which of the function's
modules each invocation left imported (test_cold_path_imports.py).

    python -m tests.integration.cold_start_driver EVENTS.json OUTCOMES.json SECONDS_LEFT

Importing the handler is the container's init, which Lambda does not count against an
invocation's time; each invocation is timed from the call to the answer. The environment comes
from the caller (the local stack's variables).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from local.commands.invoker import load_handler
from local.stand_ins import task_root
from local.stand_ins.lambda_context import LambdaContextStub


def main(events_path: str, outcomes_path: str, seconds_left: str) -> None:
    events = json.loads(Path(events_path).read_text())
    handler = load_handler()
    import runtime

    outcomes = []
    for event in events:
        context = LambdaContextStub(timeout_seconds=float(seconds_left))
        started = time.perf_counter()
        result, error = None, None
        try:
            result = handler(event, context)
        except Exception as exc:  # what Lambda would report as a function error
            error = type(exc).__name__
        took = time.perf_counter() - started
        outcomes.append(
            {
                "result": result,
                "error": error,
                "seconds": took,
                "left_at_answer_ms": context.get_remaining_time_in_millis(),
                "runtime_built": runtime._current is not None,
                "function_modules": _function_modules(),
            }
        )
    Path(outcomes_path).write_text(json.dumps(outcomes))


def _function_modules() -> list[str]:
    """The function's own modules imported so far (test_cold_path_imports.py)."""
    folder = str(task_root.function_dir())
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").startswith(folder)
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
