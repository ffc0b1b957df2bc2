"""The benchmark's state and helpers: the sandbox APIs' controls, the naive baseline, the
real handler in this process, and fresh email addresses for every run."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from bench import fleet_report
from bench.baseline import SequentialBaseline
from bench.measuring import median, quiet
from local.commands.invoker import load_handler
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import http_api_event
from local.stand_ins.sandbox_control import SandboxControl
from local.stand_ins.stack_resources import INTAKE_QUEUE


class BenchStack:
    def __init__(self, env: dict[str, str], quick: bool) -> None:
        self.env = env
        self.runs = 3 if quick else 7
        self.batch_runs = 2 if quick else 5
        self.minimo = SandboxControl(env["MINIMO_BASE_URL"].removesuffix("/public/v1"))
        self.sales = SandboxControl(env["SALES_API_BASE_URL"])
        self.baseline = SequentialBaseline(env)
        self.handler = load_handler()
        self.notes: list[str] = []
        self.cost_table = ""
        self.fleet_results: list[fleet_report.Result] = []
        self._serial = 0

    # --- helpers ---------------------------------------------------------------------------------
    def configure(self, latency: float, cache_ttl: int, *, rate_limited: bool = False) -> None:
        """Scenarios (a)-(d) measure the pipeline itself: the sales sandbox's rate limit and the
        handler's pacing are off. The rate-limit scenarios keep both as deployed."""
        os.environ["LOOKUP_CACHE_TTL_SECONDS"] = str(cache_ttl)
        for api in (self.minimo, self.sales):
            api.reset()
            api.set_latency(latency)
        if rate_limited:
            os.environ.pop("SALES_API_MAX_RPS", None)  # the default: 20 per second
        else:
            self.sales.set_rate_limit(enabled=False)
            os.environ["SALES_API_MAX_RPS"] = "0"

    def emails(self, count: int) -> list[str]:
        """Fresh addresses every time, so nothing is answered from a cache by accident."""
        self._serial += 1
        return [f"user{self._serial}-{i}@bench.example" for i in range(count)]

    def http_event(self) -> dict[str, Any]:
        return http_api_event(self.submission())

    def submission(self) -> dict[str, str]:
        return {"email": self.emails(1)[0]}

    def invoke(self, event: dict[str, Any]) -> Any:
        with quiet():
            return self.handler(event, LambdaContextStub(timeout_seconds=30))

    def measure(self, runs: int, action: Callable[[], Any]) -> float:
        """Median seconds of `action`, each run starting from an empty output queue (moto slows
        down as a queue fills up, which real SQS does not)."""
        return median(runs, action, before=self.purge)

    def purge(self) -> None:
        """Drains the output queue (PurgeQueue may run only once a minute)."""
        sqs, url = self.baseline.sqs, self.env["OUTPUT_QUEUE_URL"]
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def api_calls(self) -> int:
        return len(self.minimo.requests()) + len(self.sales.requests())

    @property
    def intake_queue_url(self) -> str:
        return self.env["OUTPUT_QUEUE_URL"].rsplit("/", 1)[0] + f"/{INTAKE_QUEUE}"

    def purge_queue(self, queue_url: str) -> None:
        sqs = self.baseline.sqs
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )

    def checked_batch(self, event: dict[str, Any]) -> None:
        result = self.invoke(event)
        assert result == {"batchItemFailures": []}, result
