"""What Lambda's SQS event source mapping does, against a queue of the local stack (moto), so that
queued mode runs end to end without AWS.

As the mapping does (AWS Lambda developer guide, "Using Lambda with Amazon SQS"):
- long-polls the queue and invokes the function with batches of up to `batch_size` records,
  waiting up to `batching_window` seconds for a batch to fill;
- runs at most `max_concurrency` invocations at once (ScalingConfig.MaximumConcurrency);
- with ReportBatchItemFailures, deletes the records that did not fail and leaves the failed
  ones to come back after the queue's visibility timeout, or after the one the function set for
  a record (ChangeMessageVisibility: the mapping leaves a failed record's visibility as it finds
  it, "Handling errors for an SQS event source"); when the function raises or times out, the
  whole batch comes back;
- the queue's redrive policy (moto implements it) moves a record that came back
  `maxReceiveCount` times to the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.stand_ins.lambda_context import LambdaContextStub

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class MappingStats:
    invocations: int = 0
    records: int = 0
    failed_records: int = 0  # reported in batchItemFailures, or in a batch whose invoke raised
    errors: int = 0  # invocations that raised
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, records: int, failed: int, raised: bool) -> None:
        with self.lock:
            self.invocations += 1
            self.records += records
            self.failed_records += failed
            self.errors += raised


class SqsEventSource:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int = 25,
        batching_window: float = 1.0,
        max_concurrency: int = 2,
        function_timeout: float = 15.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.max_concurrency = max_concurrency
        self.function_timeout = function_timeout
        self._on_error = on_error
        self.stats = MappingStats()
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self._queue_arn = attributes["Attributes"]["QueueArn"]
        self._region = self._queue_arn.split(":")[3]
        self._stopping = threading.Event()
        self._pollers: list[threading.Thread] = []

    # --- running in the background --------------------------------------------------------------
    def start(self) -> SqsEventSource:
        """One poller per concurrent invocation allowed, as the mapping scales up to its limit."""
        self._stopping.clear()
        for n in range(self.max_concurrency):
            poller = threading.Thread(target=self._poll_until_stopped, name=f"esm-{n}", daemon=True)
            poller.start()
            self._pollers.append(poller)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for poller in self._pollers:
            poller.join(timeout=self.function_timeout + 5)
        self._pollers.clear()

    def __enter__(self) -> SqsEventSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _poll_until_stopped(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # the mapping keeps polling, as Lambda's does
                if self._on_error is not None:
                    self._on_error(exc)
                self._stopping.wait(0.5)

    # --- one batch ------------------------------------------------------------------------------
    def poll_once(self, wait_seconds: float | None = None) -> int:
        """Receives one batch and invokes the function with it; returns how many records."""
        messages = self._receive(self.batching_window if wait_seconds is None else wait_seconds)
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        failed: set[str] = set()
        raised = False
        try:
            answer = self._handler(event, LambdaContextStub(timeout_seconds=self.function_timeout))
            failures = (answer or {}).get("batchItemFailures", [])
            failed = {f["itemIdentifier"] for f in failures}
        except Exception as exc:  # the whole batch comes back, as in Lambda
            raised = True
            failed = {m["MessageId"] for m in messages}
            if self._on_error is not None:
                self._on_error(exc)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        self.stats.add(len(messages), len(failed), raised)
        return len(messages)

    def drain(self, idle_seconds: float = 1.0, timeout: float = 120.0) -> None:
        """Polls in this thread until the queue has been empty for `idle_seconds`."""
        deadline = time.monotonic() + timeout
        idle_since = time.monotonic()
        while time.monotonic() < deadline:
            if self.poll_once(wait_seconds=0.2):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= idle_seconds:
                return
        raise TimeoutError(f"the queue did not drain in {timeout} s")

    def _receive(self, window: float) -> list[dict[str, Any]]:
        """Up to batch_size messages, waiting up to `window` seconds for the batch to fill."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + window
        while len(messages) < self.batch_size:
            left = deadline - time.monotonic()
            answer = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                WaitTimeSeconds=0 if messages or left <= 0 else min(1, max(0, int(left))),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = answer.get("Messages", [])
            messages += received
            if time.monotonic() >= deadline or (not received and messages):
                break
            if not received:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return messages

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": {
                name: value
                for name, value in message.get("Attributes", {}).items()
                if name
                in (
                    "ApproximateReceiveCount",
                    "SentTimestamp",
                    "SenderId",
                    "ApproximateFirstReceiveTimestamp",
                )
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody")
            or hashlib.md5(body.encode("utf-8", "surrogatepass")).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }
