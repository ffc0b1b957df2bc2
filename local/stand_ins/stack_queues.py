"""Reading the local stack's queues as a consumer would: drained, bodies held to the strictest
JSON reader and the consumer's contract on the output queues."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from local.stand_ins.event_contract import check_message
from local.stand_ins.strict_json_reader import read_strict_json


class QueueReader:
    """LocalStack's part that reads and empties its queues."""

    client: Callable[[str], Any]
    queue_url: str
    dlq_url: str
    fifo_queue_url: str
    intake_queue_url: str
    intake_dlq_url: str

    @property
    def queue_urls(self) -> list[str]:
        return [
            self.queue_url,
            self.dlq_url,
            self.fifo_queue_url,
            self.intake_queue_url,
            self.intake_dlq_url,
        ]

    def receive_all(
        self, queue_url: str | None = None, wait_seconds: float = 0.0
    ) -> list[dict[str, Any]]:
        """Drains a queue: every message (its body parsed, and as `text`), its attributes, and
        (FIFO) its group and dedup ids.

        With `wait_seconds`, an empty queue is polled until a first message arrives or the time
        is up; once messages arrive it is drained and the call returns.

        Bodies on the output queues must be strict JSON
        (local/stand_ins/strict_json_reader.py) and keep the consumer's contract
        (local/stand_ins/event_contract.py): one that does not raises NotStrictJson or
        ContractViolation, so that every test which reads the queue checks it.
        """
        url = queue_url or self.queue_url
        # What the function sends is held to the strictest reader; other queues hold anything.
        strict = url in (self.queue_url, self.fifo_queue_url)
        deadline = time.monotonic() + wait_seconds
        received: list[dict[str, Any]] = []
        while True:
            batch = self._receive_batch(url, strict=strict)
            received += batch
            if batch:
                continue
            if received or time.monotonic() >= deadline:
                return received
            time.sleep(0.05)

    def _receive_batch(self, queue_url: str, strict: bool = False) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=30,
        ).get("Messages", [])
        if messages:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
        received = [
            {
                "message_id": message["MessageId"],
                "body": read_strict_json(message["Body"]) if strict else _parsed(message["Body"]),
                "text": message["Body"],  # as sent: what a signature covers
                "attributes": {
                    name: value["StringValue"]
                    for name, value in message.get("MessageAttributes", {}).items()
                    if "StringValue" in value
                },
                "system": message.get("Attributes", {}),
            }
            for message in messages
        ]
        if strict:
            for message in received:
                check_message(message["body"], message["attributes"])
        return received

    def purge_all(self) -> None:
        """Empties every queue by receiving and deleting (PurgeQueue may run once a minute)."""
        for url in self.queue_urls:
            while self._receive_batch(url):
                pass


def _parsed(body: str) -> Any:
    """Enriched events are JSON; anything else on a queue comes back as the text it is."""
    try:
        return json.loads(body)
    except ValueError:
        return body
