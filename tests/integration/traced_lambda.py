"""Runs the real handler in a fresh process as Lambda runs it with tracing on (for
test_trace_nesting.py and test_trace_privacy.py).

    python -m tests.integration.traced_lambda EVENTS.json OUTCOMES.json   # from the repo root

The environment comes from the caller: the local stack's variables, LAMBDA_TASK_ROOT (which
tells Powertools and the X-Ray SDK that they are in Lambda) and AWS_XRAY_DAEMON_ADDRESS (where
the SDK sends its segments over UDP, as to the X-Ray daemon Lambda runs beside the function).
Lambda's runtime puts each invocation's trace header in `_X_AMZN_TRACE_ID` before it calls the
handler (awslambdaric's bootstrap, `update_xray_env_variable`), and the X-Ray SDK reads it there;
so does this, with a new trace id and parent (the function segment's id) per invocation.
With ROOT_LOG_FILE set, a handler on the root logger at DEBUG writes every record there, as
Lambda's runtime attaches one before it imports the handler (awslambdaric's bootstrap,
_setup_logging, at AWS_LAMBDA_LOG_LEVEL=DEBUG). Nothing in the function is patched or
configured from here.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
from pathlib import Path

from local.commands.invoker import invoke, load_handler


def trace_header() -> dict[str, str]:
    """The parts of a `_X_AMZN_TRACE_ID` Lambda sets for a sampled invocation."""
    return {
        "Root": f"1-{int(time.time()):08x}-{secrets.token_hex(12)}",
        "Parent": secrets.token_hex(8),
        "Sampled": "1",
    }


class _RootLog(logging.Handler):
    """Every record, as any formatter could show it: message, exception, every attribute."""

    def __init__(self, path: str) -> None:
        super().__init__(logging.DEBUG)
        self._file = Path(path).open("a")  # noqa: SIM115 - open for the life of the process

    def emit(self, record: logging.LogRecord) -> None:
        shown = [record.getMessage(), logging.Formatter().format(record)]
        shown += [f"{name}={value!r}" for name, value in vars(record).items()]
        self._file.write(json.dumps({"logger": record.name, "text": "\n".join(shown)}) + "\n")
        self._file.flush()


def main(events_path: str, outcomes_path: str) -> None:
    events = json.loads(Path(events_path).read_text())
    if os.environ.get("ROOT_LOG_FILE"):
        logging.getLogger().addHandler(_RootLog(os.environ["ROOT_LOG_FILE"]))
        logging.getLogger().setLevel(logging.DEBUG)
    handler = load_handler()
    outcomes = []
    for event in events:
        header = trace_header()
        os.environ["_X_AMZN_TRACE_ID"] = ";".join(f"{k}={v}" for k, v in header.items())
        invocation = invoke(handler, event)
        outcomes.append(
            {
                "trace_id": header["Root"],
                "function_segment_id": header["Parent"],
                "result": invocation.result,
                "error": type(invocation.error).__name__ if invocation.error else None,
            }
        )
    loaded = sorted(name for name in sys.modules if name.startswith("aws_xray_sdk"))
    Path(outcomes_path).write_text(json.dumps({"invocations": outcomes, "xray_modules": loaded}))


if __name__ == "__main__":
    main(*sys.argv[1:])
