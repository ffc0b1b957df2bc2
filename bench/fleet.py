"""The fleet scenario: several containers, each a process of its own (bench/fleet_container.py),
sharing one local stack (moto and the sandbox APIs, in another process) and so the sales API's
limit of 20 requests per second, with the APIs at 50 ms.

    python -m bench.fleet            # on its own (about 5 minutes), prints its table
    python -m bench.fleet --write docs/benchmarks.md   # and puts it in its section there
    make bench                       # as scenario (k), written to docs/benchmarks.md

Runs (RUNS): fleets of 3 and 5 draining 300 intake records, and answering 300 direct webhooks
back to back; a lone container doing both (with and without pacing); a fleet of 3 whose pacing
table does not exist; a fleet of 5 without PACING_TABLE (each container at 20/s, as before).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bench.fleet_report import Result, busiest_second, section, summary, table, write_section
from local.stand_ins.sandbox_control import SandboxControl
from local.stand_ins.stack_resources import INTAKE_DLQ, INTAKE_QUEUE, PACING_TABLE

ROOT = Path(__file__).resolve().parents[1]
_PLATFORM_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "SYSTEMROOT")
EVENTS = 300
LATENCY = 0.05


@dataclass
class Run:
    name: str
    mode: str  # intake | direct
    containers: int
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 300.0  # seconds to wait for every event
    targeted: bool = True  # held to the targets (the rest are for comparison)


RUNS = [
    Run("fleet of 3, intake", "intake", 3),
    Run("fleet of 3, direct", "direct", 3),
    Run("fleet of 5, intake", "intake", 5),
    Run("fleet of 5, direct", "direct", 5),
    Run("lone container, intake", "intake", 1),
    # One container answers one webhook at a time: its own latency, not the limit, bounds it.
    Run("lone container, direct", "direct", 1, targeted=False),
    Run(
        "lone container, direct, pacing off",
        "direct",
        1,
        {"SALES_API_MAX_RPS": "0"},
        targeted=False,
    ),
    Run(
        "fleet of 3, intake, table missing",
        "intake",
        3,
        {"PACING_TABLE": "no-such-table"},
        targeted=False,
    ),
    Run(
        "fleet of 5, intake, no PACING_TABLE (before)",
        "intake",
        5,
        {"PACING_TABLE": ""},
        timeout=60.0,
        targeted=False,
    ),
]


class Fleet:
    def __init__(self, env: dict[str, str], logs: Path | None = None, events: int = EVENTS) -> None:
        self.env = env
        self.events = events
        self.logs = logs  # the containers' output, one file each, when given
        self.sales = SandboxControl(env["SALES_API_BASE_URL"])
        self.minimo = SandboxControl(env["MINIMO_BASE_URL"].removesuffix("/public/v1"))
        aws = {
            "endpoint_url": env["AWS_ENDPOINT_URL"],
            "region_name": env["AWS_REGION"],
            "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        }
        self.sqs = boto3.client("sqs", **aws)
        self.dynamodb = boto3.client("dynamodb", **aws)
        base = env["OUTPUT_QUEUE_URL"].rsplit("/", 1)[0]
        self.intake_url = f"{base}/{INTAKE_QUEUE}"
        self.intake_dlq_url = f"{base}/{INTAKE_DLQ}"
        self._serial = 0

    def run(self, run: Run) -> Result:
        self._reset()
        emails = self._emails()
        if run.mode == "intake":
            self._enqueue(emails)
        with tempfile.TemporaryDirectory() as folder:
            processes, reports = self._start(run, emails, Path(folder))
            out = _Output(self.sqs, self.env["OUTPUT_QUEUE_URL"])
            started = time.time()
            for process in processes:
                process.stdin.write("go\n")
                process.stdin.flush()
            if run.mode == "direct":
                for process in processes:
                    process.stdin.close()
                    process.wait(timeout=600)
            out.wait_for(self.events, timeout=run.timeout)
            seconds = out.last_sent - started
            for process in processes:
                if run.mode == "intake":
                    process.stdin.write("stop\n")
                    process.stdin.close()
                process.wait(timeout=60)
            found = [json.loads(path.read_text()) for path in reports]
        return self._result(run, seconds, out.statuses, found)

    # --- setting up -----------------------------------------------------------------------------
    def _reset(self) -> None:
        for api in (self.sales, self.minimo):
            api.reset()
            api.set_latency(LATENCY)
        for url in (self.env["OUTPUT_QUEUE_URL"], self.intake_url, self.intake_dlq_url):
            self._purge(url)
        items = self.dynamodb.scan(TableName=PACING_TABLE).get("Items", [])
        for item in items:
            self.dynamodb.delete_item(TableName=PACING_TABLE, Key={"id": item["id"]})

    def _emails(self) -> list[str]:
        self._serial += 1
        return [f"fleet{self._serial}-{i}@bench.example" for i in range(self.events)]

    def _enqueue(self, emails: list[str]) -> None:
        for start in range(0, len(emails), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps({"email": email})}
                for i, email in enumerate(emails[start : start + 10])
            ]
            self.sqs.send_message_batch(QueueUrl=self.intake_url, Entries=entries)

    def _start(
        self, run: Run, emails: list[str], folder: Path
    ) -> tuple[list[subprocess.Popen], list[Path]]:
        env = {
            **self.env,
            "PACING_TABLE": PACING_TABLE,
            "PACING_FALLBACK_CONTAINERS": str(run.containers),
            "LOOKUP_CACHE_TTL_SECONDS": "0",
            "LOG_LEVEL": "INFO",  # as deployed
            **run.env,
        }
        processes, reports = [], []
        for n in range(run.containers):
            config = {
                "env": env,
                "mode": run.mode,
                "emails": emails[n :: run.containers],
                "intake_queue_url": self.intake_url,
                "ready_file": str(folder / f"ready-{n}"),
                "report_file": str(folder / f"report-{n}.json"),
            }
            path = folder / f"config-{n}.json"
            path.write_text(json.dumps(config))
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own module
                    [sys.executable, "-m", "bench.fleet_container", str(path)],
                    cwd=ROOT,
                    # A container starts from the platform's variables and its configuration:
                    # nothing another scenario set in this process reaches it.
                    env={k: v for k, v in os.environ.items() if k in _PLATFORM_VARIABLES},
                    stdin=subprocess.PIPE,
                    stdout=self._log_file(run, n),
                    text=True,
                )
            )
            reports.append(folder / f"report-{n}.json")
        deadline = time.monotonic() + 120
        while not all((folder / f"ready-{n}").exists() for n in range(run.containers)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError("a container did not start")
            time.sleep(0.05)
        return processes, reports

    def _log_file(self, run: Run, n: int) -> Any:
        if self.logs is None:
            return subprocess.DEVNULL
        self.logs.mkdir(parents=True, exist_ok=True)
        return (self.logs / f"{run.name.replace(' ', '_').replace(',', '')}-{n}.log").open("w")

    def _purge(self, url: str) -> None:
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            self.sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def _count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def _result(
        self, run: Run, seconds: float, by_event: dict[str, str], found: list[dict]
    ) -> Result:
        statuses = by_event.values()
        pacers = [report.get("pacer", {}) for report in found]
        arrivals = sorted(r["received_at"] for r in self.sales.requests())
        return Result(
            run=run,
            events=self.events,
            seconds=seconds,
            busiest_second=busiest_second(arrivals),
            requests=len(arrivals),
            refused=self.sales.rate_limit()["refused"],
            partial=sum(status == "partial" for status in statuses),
            complete=sum(status in ("enriched", "not_found") for status in statuses),
            dead_lettered=self._count(self.intake_dlq_url),
            left_on_queue=self._count(self.intake_url),
            handed_back=sum(report.get("failed_records", 0) for report in found),
            calls=sum(int(p.get("PacingTableCalls", 0)) for p in pacers),
            call_seconds=sum(p.get("call_seconds", 0.0) for p in pacers),
            fallbacks=sum(int(p.get("PacingFallbacks", 0)) for p in pacers),
            answers=[a for report in found for a in report.get("answers", [])],
        )


class _Output:
    """The output queue, read twice a second (moto serves the fleet too: a reader polling it
    without pause would slow the containers down): each event's status, and when the last one
    was put on the queue (its SentTimestamp)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs, self._url = sqs, url
        self.statuses: dict[str, str] = {}
        self.last_sent = 0.0  # epoch seconds

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read()
            if len(self.statuses) >= count:
                return
            time.sleep(0.5)

    def _read(self) -> None:
        attributes = ["SentTimestamp"]
        while messages := self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=10, MessageSystemAttributeNames=attributes
        ).get("Messages"):
            for message in messages:
                body = json.loads(message["Body"])
                self.statuses[body["event_id"]] = body["enrichment"]["status"]
                sent = int(message["Attributes"]["SentTimestamp"]) / 1000
                self.last_sent = max(self.last_sent, sent)
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)


def main() -> int:
    from bench.measuring import stack_process

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run only the runs whose name holds this text")
    parser.add_argument("--logs", type=Path, help="keep each container's output in this folder")
    parser.add_argument("--write", type=Path, help="put the fleet's section into this file")
    args = parser.parse_args()
    runs = [r for r in RUNS if not args.only or args.only in r.name]
    with stack_process() as env:
        fleet = Fleet(env, args.logs)
        results = []
        for run in runs:
            results.append(fleet.run(run))
            print(results[-1].row(), flush=True)
    print()
    print(table(results))
    if args.write:
        row = summary(results) if len(results) == len(RUNS) else None
        write_section(args.write, section(results), row)
        print(f"\nwritten to {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
