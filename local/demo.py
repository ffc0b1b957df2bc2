"""`make demo`: the real handler on every file in events/, against the local stack.

For each sample it prints the handler's answer and what arrived on the output queue, then a
one-line summary. Nothing here needs an AWS account, Docker or the internet.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from local.invoker import invoke, load_handler
from local.stack import LocalStack

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="show the function's logs")
    parser.add_argument("events", nargs="*", type=Path, help="event files (default: events/*)")
    args = parser.parse_args()
    files = args.events or sorted(EVENTS_DIR.glob("*.json"))

    quiet = {"LOG_LEVEL": "INFO" if args.verbose else "CRITICAL"}
    if not args.verbose:
        quiet["POWERTOOLS_METRICS_DISABLED"] = "true"
    with LocalStack() as stack, stack.apply_env(**quiet):
        print(f"moto {stack.moto_url} · Minimo {stack.minimo.url} · sales API {stack.sales.url}")
        handler = load_handler()
        statuses: Counter[str] = Counter()
        answers: Counter[str] = Counter()
        for path in files:
            event = json.loads(path.read_text())
            invocation = invoke(handler, event)
            answer = describe_answer(invocation)
            answers[answer.split()[0] if answer[0].isdigit() else answer.split(":")[0]] += 1
            print(f"\n{path.name}\n  answer  {answer}")
            for message in stack.receive_all():
                body = message["body"]
                enrichment = body["enrichment"]
                statuses[enrichment["status"]] += 1
                print(
                    f"  queued  {body['email'] or '-'}  {enrichment['status']}"
                    f"  contact_id={enrichment['contact_id']}"
                    f"  relationship={enrichment['relationship']}"
                    f"  (found at {enrichment['email_path'] or '-'})"
                )
        total = sum(statuses.values())
        by_status = ", ".join(f"{n} {s}" for s, n in statuses.most_common())
        by_answer = ", ".join(f"{a}: {n}" for a, n in sorted(answers.items()))
        print(f"\n{len(files)} events → {total} messages on the queue ({by_status})")
        print(f"answers: {by_answer}")
    return 0


def describe_answer(invocation: Any) -> str:
    if invocation.error is not None:
        error = invocation.error
        return f"raised {type(error).__name__}: {error}"
    result = invocation.result
    if isinstance(result, dict) and "statusCode" in result:
        return f"{result['statusCode']} {result['body']}"
    if isinstance(result, dict) and "batchItemFailures" in result:
        failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
        return (
            f"batch: {len(failed)} failed record(s) {failed}" if failed else "batch: all forwarded"
        )
    return f"returned: {json.dumps(result)}"


if __name__ == "__main__":
    raise SystemExit(main())
