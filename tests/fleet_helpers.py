"""What the fleet-pacing tests share: addresses, what the sales sandbox saw, containers of
their own (a Runtime each), and the schedule's item as the table holds it."""

from __future__ import annotations

import os

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from forwarding.pipeline import enrich_and_forward
from intake import sqs as sqs_intake
from local.stand_ins.lambda_events import sqs_event
from platform_services.deadlines import Deadline
from runtime import Runtime
from settings import Settings

LIMIT = 20  # the sales sandbox's, OpenMRP's


def emails(count: int, tag: str) -> list[str]:
    return [f"{tag}-{i}@fleet.example" for i in range(count)]


def sales_requests(stack, tag: str) -> list[dict]:
    return [r for r in stack.sales.requests() if (r["email"] or "").startswith(f"{tag}-")]


def busiest_second(requests_: list[dict]) -> int:
    arrivals = sorted(r["received_at"] for r in requests_)
    return max(
        (len([t for t in arrivals[i:] if t < start + 1.0]) for i, start in enumerate(arrivals)),
        default=0,
    )


def containers(count: int) -> list[Runtime]:
    """`count` containers' worth of state, built from the environment function_env set."""
    return [Runtime.from_settings(Settings.from_env(os.environ)) for _ in range(count)]


def drain_batch(runtime: Runtime, records: list[dict]) -> list[str]:
    """What sqs_intake does with a batch, less the batch processor (a module global, one
    container's): the failures' codes."""
    deadline = Deadline.in_seconds(20)
    parts = runtime.sqs_intake
    deliveries, _ = sqs_intake.read_batch([SQSRecord(r) for r in records], parts, deadline)
    outcomes = enrich_and_forward(
        list(deliveries.values()), parts.forwarding, deadline, hand_back_waits=True
    )
    return [o.failure for o in outcomes if o.failure]


def batch_event(addresses: list[str]) -> dict:
    """An SQS event with one record per address."""
    return sqs_event([{"email": e} for e in addresses])


def batch(addresses: list[str]) -> list[dict]:
    return batch_event(addresses)["Records"]


def sales_pacer(runtime: Runtime):
    return runtime.forwarding.enricher.connections["sales"].pacer


def scheduled_until(stack, api: str = "sales") -> float:
    item = stack.client("dynamodb").get_item(
        TableName=stack.pacing_table_name,
        Key={"id": {"S": f"pacing#{api}#{stack.sales.url.split('://')[1]}"}},
        ConsistentRead=True,
    )["Item"]
    return float(item["tat"]["N"])
