"""`make invoke EVENT=events/<file>.json`: one event through the real handler on the local stack,
as `sam local invoke -e` runs it in Docker. Prints the function's logs, its answer and every
message that reached the output queue; exits 1 when the function raised (a Lambda function
error), 2 when the event file is missing or not JSON.

The function runs with the settings the template gives it (duplicate protection on, LOG_LEVEL
INFO); variables set in your shell win: `REQUIRE_EMAIL=true make invoke EVENT=...`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from local.commands import event_files
from local.commands.invoker import error_details, invoke, load_handler
from local.stand_ins.stack import LocalStack

RULE = "─" * 8


def main(argv: list[str] | None = None) -> int:
    parser = event_files.command_parser("invoke", __doc__)
    args = parser.parse_args(argv)
    if not args.event:
        return event_files.no_event_file("invoke")
    try:
        path, event = event_files.load(args.event)
    except event_files.EventFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    with LocalStack() as stack:
        defaults = {
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "IDEMPOTENCY_TABLE": os.environ.get("IDEMPOTENCY_TABLE", stack.table_name),
            "PACING_TABLE": os.environ.get("PACING_TABLE", stack.pacing_table_name),
        }
        with stack.apply_env(**defaults):
            handler = load_handler()
            from intake.event_sources import source_kind

            kind = source_kind(event) if isinstance(event, dict) else "direct"
            print(f"{event_files.shown(path)} → the handler on the local stack ({kind} event)")
            print(f"{RULE} function logs (LOG_LEVEL={defaults['LOG_LEVEL']})", flush=True)
            invocation = invoke(handler, event)
            print(f"{RULE} answer", flush=True)
            if invocation.error is not None:
                print("the function raised: Lambda reports a function error")
                print(error_details(invocation.error))
            else:
                print(describe_result(invocation.result))
            arrived = stack.receive_all()
            print(f"{RULE} output queue: {_messages(len(arrived))}")
            for message in arrived:
                attributes = "  ".join(f"{k}={v}" for k, v in sorted(message["attributes"].items()))
                print(f"attributes: {attributes}")
                print(json.dumps(message["body"], indent=2, ensure_ascii=False))
    return 1 if invocation.error is not None else 0


def describe_result(result: Any) -> str:
    """An HTTP answer as status, headers and body; anything else as the JSON Lambda returns."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {
            name: value
            for name, value in (result.get("headers") or {}).items()
            if name.lower() != "content-type"
        }
        shown = "".join(f"\n{name}: {value}" for name, value in headers.items())
        return f"{result['statusCode']} {result.get('body', '')}{shown}"
    return json.dumps(result, indent=2)


def _messages(count: int) -> str:
    return {0: "nothing arrived", 1: "1 message"}.get(count, f"{count} messages")


if __name__ == "__main__":
    raise SystemExit(main())
