"""The two webhook modes measured: how fast the sender is answered, and how a burst of webhooks
fares against the sales API's rate limit (20 requests per second).

Every invocation runs the real handler in this process. Lambda would run concurrent invocations
in separate containers; here they share one container's pacer, booking from the fleet's schedule
(`PACING_TABLE`) as separate containers would (bench/fleet.py runs them as separate processes).
Metrics are off during bursts: Powertools' metrics buffer is per container.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.lambda_events import http_api_event
from local.stand_ins.sqs_event_source import SqsEventSource

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Burst:
    """What a burst of webhooks came to."""

    sent: int = 0
    answers: list[float] = field(default_factory=list)  # seconds each sender waited
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status → count
    enriched: dict[str, str] = field(default_factory=dict)  # event_id → enrichment status
    duplicates: int = 0  # event ids that reached the output queue more than once
    last_enriched_after: float = 0.0  # seconds from the first webhook to the last event out
    refused: int = 0  # 429s the sales API answered

    @property
    def lost(self) -> int:
        return self.sent - len(self.enriched)

    @property
    def partial(self) -> int:
        return sum(status == "partial" for status in self.enriched.values())

    def answer_percentile(self, q: float) -> float:
        ordered = sorted(self.answers)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def answer_times(handler: Handler, emails: list[str]) -> float:
    """Median seconds from a webhook's arrival to its HTTP answer, one webhook at a time."""
    samples = []
    for email in emails:
        started = time.perf_counter()
        result = handler(http_api_event({"email": email}), LambdaContextStub(15))
        samples.append(time.perf_counter() - started)
        assert result["statusCode"] == 202, result
    return statistics.median(samples)


class OutputWatcher:
    """Drains the output queue as events arrive, noting when each did."""

    def __init__(self, sqs: Any, queue_url: str, burst: Burst, started: float) -> None:
        self._sqs, self._url, self._burst, self._started = sqs, queue_url, burst, started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OutputWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._drain()  # what arrived after the last look

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self._burst.enriched) < count and time.monotonic() < deadline:
            time.sleep(0.1)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._drain():
                time.sleep(0.05)

    def _drain(self) -> int:
        messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        for message in messages:
            body = json.loads(message["Body"])
            event_id = body["event_id"]
            if event_id in self._burst.enriched:
                self._burst.duplicates += 1
            self._burst.enriched[event_id] = body["enrichment"]["status"]
            self._burst.last_enriched_after = time.perf_counter() - self._started
        if messages:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
        return len(messages)


def burst(
    handler: Handler,
    sqs: Any,
    output_queue_url: str,
    emails: list[str],
    *,
    seconds: float,
    senders: int,
    intake_queue_url: str | None = None,
    consumers: int = 2,
) -> Burst:
    """`len(emails)` webhooks spread evenly over `seconds`, from `senders` concurrent senders.
    With `intake_queue_url` (queued mode), `consumers` pollers do what the intake queue's event
    source mapping does."""
    result = Burst(sent=len(emails))
    lock = threading.Lock()
    started = time.perf_counter()
    interval = seconds / len(emails)

    def send(n: int, email: str) -> None:
        time.sleep(max(0.0, started + n * interval - time.perf_counter()))
        arrived = time.perf_counter()
        answer = handler(
            http_api_event({"email": email}, headers={"webhook-id": f"burst-{email}"}),
            LambdaContextStub(15),
        )
        with lock:
            result.answers.append(time.perf_counter() - arrived)
            status = answer["statusCode"]
            result.statuses[status] = result.statuses.get(status, 0) + 1

    mapping = (
        SqsEventSource(
            sqs,
            intake_queue_url,
            handler,
            batch_size=25,
            batching_window=0.5,
            max_concurrency=consumers,
        )
        if intake_queue_url
        else None
    )
    with OutputWatcher(sqs, output_queue_url, result, started) as watcher:
        if mapping is not None:
            mapping.start()
        try:
            with ThreadPoolExecutor(senders) as pool:
                list(pool.map(send, range(len(emails)), emails))
            watcher.wait_for(len(emails), timeout=180)
        finally:
            if mapping is not None:
                mapping.stop()
    return result
