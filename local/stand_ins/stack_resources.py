"""The AWS resources of the local stack, named and made as the template makes them: the output
queue and its DLQ, the FIFO queue, the intake queue and its DLQ, the API keys' and the intake
signing key's secrets, the idempotency and pacing tables. Made in moto's server by LocalStack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

REGION = "eu-west-1"
QUEUE = "enriched-events"
DLQ = "enriched-events-dlq"
FIFO_QUEUE = "enriched-events.fifo"
INTAKE_QUEUE = "webhook-intake"
INTAKE_DLQ = "webhook-intake-dlq"
# The template's intake queue waits 120 s before a failed record comes back; locally, 10 s.
INTAKE_VISIBILITY_SECONDS = 10
# As the template's (IntakeMaxReceiveCount): the function's INTAKE_MAX_RECEIVE_COUNT is the
# intake queue's maxReceiveCount, so that a record's last receive is known (outage_waits.py).
INTAKE_MAX_RECEIVE_COUNT = 5
SECRET_NAME = "webhook-enrichment/api-keys"  # noqa: S105 - a name, not a secret
INTAKE_SECRET_NAME = "webhook-enrichment/intake-signing-key"  # noqa: S105 - a name
TABLE = "webhook-idempotency"
PACING_TABLE = "webhook-pacing"  # the fleet's request schedules (PACING_TABLE)


class StackResources:
    """LocalStack's part that creates (or, in a process that has made them, adopts) them."""

    client: Callable[[str], Any]
    minimo_api_key: str
    sales_api_key: str
    webhook_secret: str
    intake_signing_key: str

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
        self.intake_dlq_url = sqs.create_queue(QueueName=INTAKE_DLQ)["QueueUrl"]
        intake_dlq_arn = sqs.get_queue_attributes(
            QueueUrl=self.intake_dlq_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.intake_queue_url = sqs.create_queue(
            QueueName=INTAKE_QUEUE,
            Attributes={
                "VisibilityTimeout": str(INTAKE_VISIBILITY_SECONDS),
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": intake_dlq_arn,
                        "maxReceiveCount": INTAKE_MAX_RECEIVE_COUNT,
                    }
                ),
            },
        )["QueueUrl"]
        self.secret_arn = self._create_secret()
        self.intake_secret_arn = self._create_intake_secret()
        self.table_name = self._create_table(TABLE)
        self.pacing_table_name = self._create_table(PACING_TABLE)

    def _create_secret(self) -> str:
        """An existing secret that holds this stack's API keys keeps its webhook secret, so that
        the stack which made it (see the class docstring) goes on verifying signatures."""
        secretsmanager = self.client("secretsmanager")
        keys = {"minimo_api_key": self.minimo_api_key, "sales_api_key": self.sales_api_key}
        try:
            value = json.dumps({**keys, "webhook_secret": self.webhook_secret})
            return secretsmanager.create_secret(Name=SECRET_NAME, SecretString=value)["ARN"]
        except secretsmanager.exceptions.ResourceExistsException:
            stored = secretsmanager.get_secret_value(SecretId=SECRET_NAME)
        existing = json.loads(stored["SecretString"])
        if existing.get("webhook_secret") and all(existing.get(k) == v for k, v in keys.items()):
            self.webhook_secret = existing["webhook_secret"]
        else:
            secretsmanager.put_secret_value(SecretId=SECRET_NAME, SecretString=value)
        return stored["ARN"]

    def _create_intake_secret(self) -> str:
        """The intake signing key's secret, holding this stack's key (a plain string, as the
        template's GenerateSecretString makes it)."""
        secretsmanager = self.client("secretsmanager")
        try:
            return secretsmanager.create_secret(
                Name=INTAKE_SECRET_NAME, SecretString=self.intake_signing_key
            )["ARN"]
        except secretsmanager.exceptions.ResourceExistsException:
            secretsmanager.put_secret_value(
                SecretId=INTAKE_SECRET_NAME, SecretString=self.intake_signing_key
            )
            return secretsmanager.describe_secret(SecretId=INTAKE_SECRET_NAME)["ARN"]

    def _create_table(self, name: str) -> str:
        """The shape both tables have, as the template makes them: key `id`, TTL on
        `expiration` (what Powertools' idempotency utility expects)."""
        dynamodb = self.client("dynamodb")
        try:
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except dynamodb.exceptions.ResourceInUseException:
            return name
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
        )
        return name
