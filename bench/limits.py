"""`python -m bench.limits --write docs/benchmarks.md`: two limits of docs/trust-boundaries.md,
measured through the real handler in this process, against the local stack in another:

1. memory over 10,000 refusals of each kind ("Refusals are made per raise"): the Python heap
   (allocated blocks, after a collection) and the process's resident memory, before and after,
   each kind warmed up first;
2. SQS batches of 3,000 and 10,000 records in a 15 s context, the template's timeout ("Work
   bounded by the deadline"), with duplicate protection on and the sales API's 20 requests per
   second, as deployed: when the answer came, how many records were forwarded and handed back,
   and how many were both.

It writes its section of docs/benchmarks.md between markers, which `make bench` keeps.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.doc_sections import write_section
from bench.measuring import quiet as _quiet
from bench.measuring import stack_process
from local.commands.invoker import load_handler
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_record
from local.stand_ins.stack import environment_set
from local.stand_ins.stack_resources import INTAKE_QUEUE

COMMAND = "python -m bench.limits --write docs/benchmarks.md"
START, END = "<!-- bench.limits -->", "<!-- /bench.limits -->"
REFUSALS = 10_000
WARM_UP = 300
EMAIL = "customer@example.com"


@dataclass
class Kind:
    name: str
    event: Callable[[], Any]
    expect: Callable[[Any], bool]  # the answer (or the exception raised) is the refusal
    env: dict[str, str | None]


def _status(status: int, code: str) -> Callable[[Any], bool]:
    def check(answer: Any) -> bool:
        if not isinstance(answer, dict) or answer.get("statusCode") != status:
            return False
        return json.loads(answer["body"])["error"]["code"] == code

    return check


def _raised(answer: Any) -> bool:
    return type(answer).__name__ == "Refusal"


def _record_failed(answer: Any) -> bool:
    return isinstance(answer, dict) and len(answer.get("batchItemFailures", [])) == 1


def kinds(intake_queue_url: str) -> list[Kind]:
    big = {"email": EMAIL, "pad": "x" * 1_000_000}  # over what can be queued with its enrichment
    no_method = http_api_event({"email": EMAIL})
    del no_method["requestContext"]["http"]["method"]
    no_id = eventbridge_event({"email": EMAIL})
    del no_id["id"]
    return [
        Kind(
            "HTTP 400, not JSON",
            lambda: http_api_event(b"{not json"),
            _status(400, "bad_request"),
            {},
        ),
        Kind(
            "HTTP 401, unsigned",
            lambda: http_api_event({"email": EMAIL}),
            _status(401, "unauthorized"),
            {"WEBHOOK_SECRET": "whsec_" + "A" * 32},
        ),
        Kind(
            "HTTP 405, GET",
            lambda: http_api_event({"email": EMAIL}, method="GET"),
            _status(405, "method_not_allowed"),
            {},
        ),
        Kind(
            "HTTP 413, over MAX_BODY_BYTES",
            lambda: http_api_event({"email": EMAIL, "pad": "x" * 2048}),
            _status(413, "payload_too_large"),
            {"MAX_BODY_BYTES": "1024"},
        ),
        Kind(
            "HTTP 413, too large to queue (queued mode)",
            lambda: http_api_event(big),
            _status(413, "payload_too_large"),
            {"INTAKE_QUEUE_URL": intake_queue_url, "MAX_BODY_BYTES": "2097152"},
        ),
        Kind(
            "HTTP 415, text/csv",
            lambda: http_api_event(b"a,b", content_type="text/csv"),
            _status(415, "unsupported_media_type"),
            {},
        ),
        Kind(
            "HTTP 422, no email",
            lambda: http_api_event({"name": "nobody"}),
            _status(422, "no_email"),
            {"REQUIRE_EMAIL": "true"},
        ),
        Kind("HTTP 400, malformed event", lambda: no_method, _status(400, "bad_request"), {}),
        Kind(
            "SQS record refused (not JSON)",
            lambda: {"Records": [sqs_record("{not json")]},
            _record_failed,
            {},
        ),
        Kind("EventBridge refused (no id)", lambda: no_id, _raised, {}),
        Kind("direct invoke refused (not an object)", lambda: ["a", "list"], _raised, {}),
    ]


def _resident_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _call(handler: Any, event: Any) -> Any:
    try:
        return handler(event, LambdaContextStub(timeout_seconds=30))
    except Exception as exc:  # a raised Refusal is the answer of EventBridge and direct invokes
        return exc


def refusal_memory(handler: Any, env: dict[str, str]) -> list[str]:
    rows = []
    for kind in kinds(env["INTAKE_QUEUE_URL"]):
        with environment_set(kind.env), _quiet():
            for _ in range(WARM_UP):
                answer = _call(handler, kind.event())
            assert kind.expect(answer), (kind.name, answer)
            gc.collect()
            blocks, resident = sys.getallocatedblocks(), _resident_mib()
            started = time.perf_counter()
            for _ in range(REFUSALS):
                answer = _call(handler, kind.event())
            took = time.perf_counter() - started
            assert kind.expect(answer), (kind.name, answer)
            del answer
            gc.collect()
            grown_blocks = sys.getallocatedblocks() - blocks
            grown_mib = _resident_mib() - resident
        rows.append(
            f"| {kind.name} | {REFUSALS:,} | {took / REFUSALS * 1e6:,.0f} µs "
            f"| {grown_blocks:+,} | {grown_mib:+.1f} MiB |"
        )
        print(rows[-1], flush=True)
    return rows


def batch_budget(handler: Any, env: dict[str, str]) -> list[str]:
    from local.stand_ins.stack_resources import TABLE

    rows = []
    with environment_set({"IDEMPOTENCY_TABLE": TABLE, "LOOKUP_CACHE_TTL_SECONDS": "0"}):
        for count in (3_000, 10_000):
            prefix = f"limits-{count}-{time.time_ns()}"
            records = [
                sqs_record(
                    {"email": f"{prefix}-{n}@batch.example", "submission_id": f"{prefix}-{n}"}
                )
                for n in range(count)
            ]
            ids = {r["messageId"]: f"{prefix}-{n}" for n, r in enumerate(records)}
            time.sleep(1.5)  # a fresh rate-limit window at the sales sandbox
            started = time.monotonic()
            with _quiet():
                answer = handler({"Records": records}, LambdaContextStub(timeout_seconds=15))
            took = time.monotonic() - started
            failed = {ids[f["itemIdentifier"]] for f in answer["batchItemFailures"]}
            sent = _drain(env)
            rows.append(
                f"| {count:,} records, 15 s | {took:.2f} s | {len(sent):,} | {len(failed):,} "
                f"| {len(sent & failed)} | {count - len(sent | failed)} |"
            )
            print(rows[-1], flush=True)
    return rows


def _drain(env: dict[str, str]) -> set[str]:
    import boto3

    sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"])
    sent: set[str] = set()
    url = env["OUTPUT_QUEUE_URL"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        sent |= {json.loads(m["Body"])["event_id"] for m in messages}
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    return sent


def section(memory: list[str], budget: list[str]) -> str:
    return f"""{START}
## Limits

Produced by `{COMMAND}` (docs/trust-boundaries.md): the real
handler in this process, the local stack in another, on the machine above. `make bench` keeps
this section as it is.

**Memory over {REFUSALS:,} refusals of each kind**, after {WARM_UP} of the same kind to warm up:
the Python heap's allocated blocks and the process's resident memory, each read after a
collection. A refusal kept at module level and raised again used to keep every traceback it went
through (five oversized queued webhooks held 10 frames and 5 MB); made per raise, nothing stays.

| refusal | invocations | per invocation | heap blocks Δ | resident Δ |
| --- | --- | --- | --- | --- |
{chr(10).join(memory)}

**SQS batches against the 15 s timeout**, duplicate protection on, the sales API at 20 requests
per second (its sandbox's limit, and the function's pacing): before, batches of 2,000-10,000
records ran 15.0-21.5 s and some records were both forwarded and reported failed.

| batch | answered after | forwarded | handed back | both | lost |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(budget)}
{END}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="write the section into this Markdown file")
    args = parser.parse_args()
    with stack_process() as env:
        os.environ.update(env)
        os.environ["LOG_LEVEL"] = "WARNING"
        handler = load_handler()
        intake = env["OUTPUT_QUEUE_URL"].rsplit("/", 1)[0] + f"/{INTAKE_QUEUE}"
        memory = refusal_memory(handler, {**env, "INTAKE_QUEUE_URL": intake})
        budget = batch_budget(handler, env)
    text = section(memory, budget)
    print(text)
    if args.write:
        write_section(args.write, text, START, END)
        print(f"\nwritten to {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
