"""One container of bench/fleet.py's fleet: a process of its own that imports the handler once
and then does what one Lambda container does, one invocation at a time, against the shared
local stack.

    python -m bench.fleet_container <config.json>

The config names the environment, the work (`intake`: poll the intake queue as one of the
event source mapping's concurrent invocations; `direct`: answer HTTP webhooks back to back, as
many senders keep one container busy), a file to touch once ready and a file for the report.
The process waits for a line on stdin ("go") before it starts, so that the whole fleet starts
together, and for a second line ("stop") before an intake container stops polling.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from local.commands.invoker import load_handler
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import http_api_event
from local.stand_ins.sqs_event_source import SqsEventSource

FUNCTION_TIMEOUT = 15.0  # template.yaml's Timeout


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    os.environ.update(config["env"])
    handler = load_handler()
    import runtime

    runtime.current_runtime()  # as a container's init would: pools and pacers made once
    Path(config["ready_file"]).touch()
    sys.stdin.readline()  # "go"
    started = time.perf_counter()
    if config["mode"] == "intake":
        report = _drain(handler, config)
    else:
        report = _answer(handler, config["emails"])
    report["seconds"] = time.perf_counter() - started
    report["pacer"] = _pacer_totals(runtime.current_runtime())
    Path(config["report_file"]).write_text(json.dumps(report))
    return 0


def _drain(handler: Any, config: dict[str, Any]) -> dict[str, Any]:
    env = config["env"]
    sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"])
    # (credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, from the environment)
    mapping = SqsEventSource(
        sqs,
        config["intake_queue_url"],
        handler,
        batch_size=25,  # template.yaml's BatchSize
        batching_window=1.0,  # and MaximumBatchingWindowInSeconds
        max_concurrency=1,  # the fleet's size is the mapping's MaximumConcurrency
        function_timeout=FUNCTION_TIMEOUT,
    )
    with mapping:
        sys.stdin.readline()  # "stop"
    stats = mapping.stats
    return {
        "invocations": stats.invocations,
        "records": stats.records,
        "failed_records": stats.failed_records,
        "errors": stats.errors,
    }


def _answer(handler: Any, emails: list[str]) -> dict[str, Any]:
    answers: list[float] = []
    statuses: dict[str, int] = {}
    for email in emails:
        event = http_api_event({"email": email}, headers={"webhook-id": f"fleet-{email}"})
        arrived = time.perf_counter()
        answer = handler(event, LambdaContextStub(FUNCTION_TIMEOUT))
        answers.append(time.perf_counter() - arrived)
        status = json.loads(answer["body"]).get("status", str(answer["statusCode"]))
        statuses[status] = statuses.get(status, 0) + 1
    return {"answers": answers, "statuses": statuses}


def _pacer_totals(current: Any) -> dict[str, float]:
    """DynamoDB calls and the time they took, requests paced alone (the table unusable)."""
    pacer = current.forwarding.enricher.connections["sales"].pacer
    if not hasattr(pacer, "totals"):
        return {}
    return {**pacer.totals(), "call_seconds": pacer.schedule.call_seconds}


if __name__ == "__main__":
    raise SystemExit(main())
