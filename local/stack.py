"""The local stack: moto's server (SQS, Secrets Manager, DynamoDB) and both sandbox APIs, all on
127.0.0.1 with ephemeral ports, plus the queues, secret and table the function expects.

    with LocalStack() as stack, stack.apply_env():
        app.lambda_handler(event, LambdaContextStub())
        stack.receive_all()

`python -m local.stack` starts it and prints the environment to export; `--env-file` also writes it
as JSON, for another process (the benchmark runs the stack that way).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import secrets
import shlex
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

import boto3
from moto.server import ThreadedMotoServer

from local.minimo_sandbox import MinimoSandbox
from local.sales_sandbox import SalesSandbox

REGION = "eu-west-1"
DATA_FILE = Path(__file__).with_name("sandbox_data.json")
QUEUE = "enriched-events"
DLQ = "enriched-events-dlq"
FIFO_QUEUE = "enriched-events.fifo"
INTAKE_QUEUE = "webhook-intake"
SECRET_NAME = "webhook-enrichment/api-keys"  # noqa: S105 - a name, not a secret
TABLE = "webhook-idempotency"
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class LocalStack:
    POWERTOOLS_ENV: ClassVar[dict[str, str]] = {
        "POWERTOOLS_SERVICE_NAME": "webhook-enrichment",
        "POWERTOOLS_METRICS_NAMESPACE": "WebhookEnrichment",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data or json.loads(DATA_FILE.read_text())
        self.minimo = MinimoSandbox(self.data["minimo"])
        self.sales = SalesSandbox(self.data["sales"])
        # As Standard Webhooks senders issue them: whsec_ and 24 random bytes in base64.
        self.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto_url = ""

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self.minimo.start()
        self.sales.start()
        self._create_resources()
        return self

    def stop(self) -> None:
        self.minimo.stop()
        self.sales.stop()
        self._moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the function's environment --------------------------------------------------------------
    @property
    def minimo_api_key(self) -> str:
        return self.minimo.token

    @property
    def sales_api_key(self) -> str:
        return self.data["sales"]["api_key"]

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = {
            "OUTPUT_QUEUE_URL": self.queue_url,
            "MINIMO_BASE_URL": self.minimo.url,
            "SALES_API_BASE_URL": self.sales.url,
            "MINIMO_API_KEY": self.minimo_api_key,
            "SALES_API_KEY": self.sales_api_key,
            "AWS_ENDPOINT_URL": self.moto_url,
            **_AWS_ENV,
            **self.POWERTOOLS_ENV,
            "LOG_LEVEL": "WARNING",
        }
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    @contextmanager
    def apply_env(self, **overrides: str | None) -> Iterator[dict[str, str]]:
        env = self.env(**overrides)
        removed = [name for name, value in overrides.items() if value is None]
        saved = {name: os.environ.get(name) for name in [*env, *removed]}
        os.environ.update(env)
        for name in removed:
            os.environ.pop(name, None)
        try:
            yield env
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # --- AWS resources --------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        )

    def _create_resources(self) -> None:
        sqs = self.client("sqs")
        self.dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])
        redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 5}
        self.queue_url = sqs.create_queue(
            QueueName=QUEUE, Attributes={"RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
        self.fifo_queue_url = sqs.create_queue(
            QueueName=FIFO_QUEUE,
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )["QueueUrl"]
        self.intake_queue_url = sqs.create_queue(QueueName=INTAKE_QUEUE)["QueueUrl"]
        self.secret_arn = self.client("secretsmanager").create_secret(
            Name=SECRET_NAME,
            SecretString=json.dumps(
                {
                    "minimo_api_key": self.minimo_api_key,
                    "sales_api_key": self.sales_api_key,
                    "webhook_secret": self.webhook_secret,
                }
            ),
        )["ARN"]
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=TABLE,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
        )
        self.table_name = TABLE

    @property
    def queue_urls(self) -> list[str]:
        return [self.queue_url, self.dlq_url, self.fifo_queue_url, self.intake_queue_url]

    def receive_all(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Drains a queue: every message, its attributes, and (FIFO) its group and dedup ids."""
        sqs = self.client("sqs")
        received = []
        while True:
            answer = sqs.receive_message(
                QueueUrl=queue_url or self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                VisibilityTimeout=30,
            )
            messages = answer.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(
                    {
                        "message_id": message["MessageId"],
                        "body": json.loads(message["Body"]),
                        "attributes": {
                            name: value["StringValue"]
                            for name, value in message.get("MessageAttributes", {}).items()
                        },
                        "system": message.get("Attributes", {}),
                    }
                )
            sqs.delete_message_batch(
                QueueUrl=queue_url or self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )

    def reset(self) -> None:
        """Empty queues and table, sandboxes back to normal: a clean slate for the next test."""
        for url in self.queue_urls:
            self.receive_all(url)
        dynamodb = self.client("dynamodb")
        for item in dynamodb.scan(TableName=TABLE).get("Items", []):
            dynamodb.delete_item(TableName=TABLE, Key={"id": item["id"]})
        self.minimo.reset()
        self.sales.reset()


def main() -> None:
    parser = argparse.ArgumentParser(description="Runs the local stack until Ctrl-C.")
    parser.add_argument("--env-file", type=Path, help="also write the environment as JSON")
    args = parser.parse_args()
    with LocalStack() as stack:
        env = stack.env()
        for name, value in env.items():
            # Keys stay out of terminals and scrollback: they are in the env file.
            shown = "<see --env-file>" if name.endswith("_KEY") else shlex.quote(value)
            print(f"export {name}={shown}")
        if args.env_file:
            args.env_file.write_text(json.dumps(env, indent=2) + "\n")
            print(f"# wrote {args.env_file}")
        print("# local stack running; Ctrl-C stops it", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
