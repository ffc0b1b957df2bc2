"""What one kind of invocation costs, measured in this fresh process (as one Lambda container):
its wall time, its CPU time and the process's peak memory.

    python -m bench.footprint handler|baseline http|sqs10|sqs100 RUNS

`http` is one webhook per invocation; `sqsN` an SQS batch of N records. The baseline does the
same events one at a time (bench/baseline.py). The environment is the local stack's, with the
APIs' latency already set (bench/run.py does both). The first invocation warms the container and
is not counted. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable

from bench.cold_path import peak_memory_mib
from local.stand_ins import task_root

task_root.enter()


def emails(count: int) -> list[str]:
    return [f"fp-{secrets.token_hex(5)}@bench.example" for _ in range(count)]


def handler_invocation(kind: str) -> Callable[[], None]:
    import app
    from local.stand_ins.lambda_context import LambdaContextStub
    from local.stand_ins.lambda_events import http_api_event, sqs_event

    if kind == "http":
        return lambda: app.lambda_handler(
            http_api_event({"email": emails(1)[0]}), LambdaContextStub(15)
        )
    size = int(kind.removeprefix("sqs"))
    return lambda: app.lambda_handler(
        sqs_event([{"email": e} for e in emails(size)]), LambdaContextStub(15)
    )


def baseline_invocation(kind: str) -> Callable[[], None]:
    from bench.baseline import from_environment

    baseline = from_environment()
    size = 1 if kind == "http" else int(kind.removeprefix("sqs"))
    return lambda: [baseline.handle({"email": e}) for e in emails(size)]


def main(who: str, kind: str, runs: int) -> None:
    invocation = (handler_invocation if who == "handler" else baseline_invocation)(kind)
    saved = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the function's logs, as Lambda ships them
    try:
        invocation()  # a warm container from here on
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            invocation()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
    peak_mib = peak_memory_mib()
    print(
        json.dumps(
            {
                "wall_seconds": statistics.median(walls),
                "cpu_seconds": statistics.median(cpus),
                "peak_mib": peak_mib,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
