"""One cold path, in this fresh process: import, then the first webhook, timed end to end.

    python -m bench.cold_path handler   # the real handler, as Lambda starts it (tracing on)
    python -m bench.cold_path naive     # import boto3 + requests, an SQS client, two lookups,
                                        # one SendMessage
    python -m bench.cold_path libraries # the naive path inside what the design requires of any
                                        # handler: email-validator, Powertools (X-Ray on)

The environment is the local stack's (bench/run.py passes it), with the function's folder as
LAMBDA_TASK_ROOT and PYTHONPATH, as Lambda's runtime sets them before Python starts. Nothing is
imported before the clock starts but what builds the event, the same in both modes: reading
template.yaml here (cfn-lint) would load ssl, http, email and more ahead of time, which the
handler would then import for free and the naive path would not. Prints one JSON line: seconds,
the process's CPU seconds, and its peak resident memory in MiB.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]


def as_lambda_starts_it() -> None:
    """What Lambda's runtime sets that the function reads, besides LAMBDA_TASK_ROOT (Powertools
    and the X-Ray SDK know they are in Lambda; the parent sets it): the invocation's trace
    header, the daemon's address (nothing listens there: segments go out over UDP and are lost,
    as cheaply as to a daemon)."""
    if not os.environ.get("LAMBDA_TASK_ROOT"):
        raise SystemExit("LAMBDA_TASK_ROOT and PYTHONPATH name the function's folder (bench.run)")
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "false"
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:2000"
    os.environ["_X_AMZN_TRACE_ID"] = (
        f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};"
        f"Parent={secrets.token_hex(8)};Sampled=1"
    )
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "webhook-enrichment-enrich"


def handler_cold_path(event: dict, context: object) -> None:
    import app

    result = app.lambda_handler(event, context)
    assert result["statusCode"] == 202, result


def naive_cold_path(email: str) -> None:
    import boto3
    import requests

    env = os.environ
    sqs = boto3.client("sqs")
    minimo = requests.get(
        f"{env['MINIMO_BASE_URL']}/contacts/by-email/{quote(email, safe='')}",
        headers={"Authorization": f"Bearer {env['MINIMO_API_KEY']}"},
        timeout=10,
    )
    sales = requests.post(
        f"{env['SALES_API_BASE_URL']}/v1/sales/contacts/actions/find-by-email?include=account",
        json={"email": email},
        headers={
            "Authorization": f"Bearer {env['SALES_API_KEY']}",
            "OpenMRP-Version": "1.0.forge-preview.8",
        },
        timeout=10,
    )
    body = {"email": email, "minimo": minimo.status_code, "sales": sales.json()["data"]}
    sqs.send_message(QueueUrl=env["OUTPUT_QUEUE_URL"], MessageBody=json.dumps(body))


def naive_with_libraries(email: str, context: object) -> None:
    """The naive path wrapped in what DESIGN.md requires of any handler, used as plainly as
    possible: the address through email-validator; Powertools' Logger, Metrics and Tracer (X-Ray,
    patching botocore) around the call. What the handler costs beyond this is its own code."""
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.metrics import MetricUnit
    from email_validator import validate_email

    logger, metrics = Logger(), Metrics(namespace="webhook-enrichment")
    tracer = Tracer(patch_modules=("botocore",))

    @logger.inject_lambda_context(log_event=False)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict, context: object) -> None:
        address = validate_email(event["email"], check_deliverability=False).normalized
        naive_cold_path(address)
        metrics.add_metric(name="EventsForwarded", unit=MetricUnit.Count, value=1)
        logger.info("forwarded")

    handler({"email": email}, context)


def peak_memory_mib() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux keeps that
    across execve, so a child started by a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(kind: str) -> None:
    email = f"cold-{secrets.token_hex(4)}@bench.example"
    # Built before the clock starts, in both modes: Lambda hands the event over ready.
    from local.stand_ins.lambda_context import LambdaContextStub
    from local.stand_ins.lambda_events import http_api_event

    event, context = http_api_event({"email": email}), LambdaContextStub(15)
    if kind == "handler":
        as_lambda_starts_it()
        started, cpu = time.perf_counter(), time.process_time()
        handler_cold_path(event, context)
    elif kind == "libraries":
        as_lambda_starts_it()
        started, cpu = time.perf_counter(), time.process_time()
        naive_with_libraries(email, context)
    else:
        started, cpu = time.perf_counter(), time.process_time()
        naive_cold_path(email)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    peak_mib = peak_memory_mib()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mib": peak_mib}))


if __name__ == "__main__":
    main(sys.argv[1])
