"""The local stack: moto's server (SQS, Secrets Manager, DynamoDB; SQS refusing the characters real
SQS refuses, see local/stand_ins/moto_server.py) and both sandbox APIs, all on
127.0.0.1 with ephemeral ports, plus the queues, secret and table the function expects.

    with LocalStack() as stack, stack.apply_env():
        app.lambda_handler(event, LambdaContextStub())
        stack.receive_all()

`python -m local.stand_ins.stack` starts it and prints the environment to export; `--env-file`
also writes it as JSON in the shape `sam local invoke --env-vars` reads, {"EnrichFunction": {...}},
for another process (the benchmark runs the stack that way).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import secrets
import shlex
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

import boto3

from local.stand_ins.minimo_sandbox import MinimoSandbox
from local.stand_ins.moto_server import MotoServer
from local.stand_ins.sales_sandbox import SalesSandbox
from local.stand_ins.sandbox_control import SandboxControl
from local.stand_ins.stack_queues import QueueReader
from local.stand_ins.stack_resources import (
    INTAKE_MAX_RECEIVE_COUNT,
    PACING_TABLE,
    REGION,
    TABLE,
    StackResources,
)

DATA_FILE = Path(__file__).with_name("sandbox_data.json")
FUNCTION_ID = "EnrichFunction"  # the function's logical ID in template.yaml
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@contextmanager
def environment_set(values: dict[str, str | None]) -> Iterator[None]:
    """This process's environment with `values` set (None: removed), then put back as it was."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalStack(StackResources, QueueReader):
    """Attributes once started: moto_url; minimo and sales (the sandboxes, driven in-process) and
    minimo_control / sales_control (the same over HTTP); queue_url, dlq_url, fifo_queue_url,
    intake_queue_url, intake_dlq_url, secret_arn, intake_secret_arn, table_name,
    pacing_table_name; data (the seed), webhook_secret and intake_signing_key.

    moto keeps its state per process, not per server: stacks started in one process share their
    queues, secret and table, so a stack adopts the resources an earlier one created.
    """

    POWERTOOLS_ENV: ClassVar[dict[str, str]] = {
        "POWERTOOLS_SERVICE_NAME": "webhook-enrichment",
        "POWERTOOLS_METRICS_NAMESPACE": "WebhookEnrichment",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }

    def __init__(
        self, data: dict[str, Any] | None = None, sandbox_ports: tuple[int, int] = (0, 0)
    ) -> None:
        """`sandbox_ports`: where Minimo's and the sales API's sandboxes listen (0, or a port
        that is taken: an ephemeral one)."""
        self.data = data or json.loads(DATA_FILE.read_text())
        self._sandbox_ports = sandbox_ports
        self.minimo = MinimoSandbox(self.data["minimo"])
        self.sales = SalesSandbox(self.data["sales"])
        # As Standard Webhooks senders issue them: whsec_ and 24 random bytes in base64.
        self.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        # What signs queued webhooks (intake/queued_signatures.py), as the template's generated
        # secret: 64 letters and digits. The secret `intake_secret_arn` holds it too.
        self.intake_signing_key = secrets.token_hex(32)
        self._moto = MotoServer()  # refuses the characters real SQS refuses
        self._clients: dict[str, Any] = {}
        self._controls: dict[str, SandboxControl] = {}
        self.moto_url = ""

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        try:
            self.moto_url = self._moto.start()
            self.minimo.start(self._sandbox_ports[0])
            self.sales.start(self._sandbox_ports[1])
            self._create_resources()
        except BaseException:
            self.stop()  # nothing half-started is left listening
            raise
        return self

    def stop(self) -> None:
        for control in self._controls.values():
            control.close()
        self._controls.clear()
        self.minimo.stop()
        self.sales.stop()
        self._moto.stop()
        self._clients.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the sandboxes over HTTP, as another process would drive them ----------------------------
    @property
    def minimo_control(self) -> SandboxControl:
        return self._control(self.minimo.root_url)

    @property
    def sales_control(self) -> SandboxControl:
        return self._control(self.sales.root_url)

    def _control(self, root_url: str) -> SandboxControl:
        if root_url not in self._controls:
            self._controls[root_url] = SandboxControl(root_url)
        return self._controls[root_url]

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
            "INTAKE_SIGNING_KEY": self.intake_signing_key,
            "INTAKE_MAX_RECEIVE_COUNT": str(INTAKE_MAX_RECEIVE_COUNT),
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
        removed = {name: None for name, value in overrides.items() if value is None}
        with environment_set({**env, **removed}):
            yield env

    # --- AWS resources --------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for moto, made once per service (making one takes tens of ms)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.moto_url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            )
        return self._clients[service]

    def reset(self) -> None:
        """Empty queues and table, sandboxes back to normal: a clean slate for the next test."""
        sqs = self.client("sqs")
        try:
            self.purge_all()
        except sqs.exceptions.QueueDoesNotExist:
            # moto keeps its state per process, and a mock_aws started in this process (the
            # delivery protocol's unit tests) wipes it: the stack makes its resources again.
            self._create_resources()
        dynamodb = self.client("dynamodb")
        for table in (TABLE, PACING_TABLE):
            for page in dynamodb.get_paginator("scan").paginate(
                TableName=table, ProjectionExpression="id"
            ):
                for item in page["Items"]:
                    dynamodb.delete_item(TableName=table, Key={"id": item["id"]})
        self.minimo.reset()
        self.sales.reset()


def main() -> None:
    parser = argparse.ArgumentParser(description="Runs the local stack until Ctrl-C.")
    parser.add_argument(
        "--env-file",
        type=Path,
        help=f'also write the environment as JSON: {{"{FUNCTION_ID}": {{...}}}}, as'
        " `sam local invoke --env-vars` reads it",
    )
    args = parser.parse_args()
    with LocalStack() as stack:
        env = stack.env(PACING_TABLE=stack.pacing_table_name)  # as deployed: the fleet's pacing
        for name, value in env.items():
            # API keys stay out of terminals and scrollback: they are in the env file.
            hidden = name.endswith("_KEY") and name not in _AWS_ENV
            print(f"export {name}={'<see --env-file>' if hidden else shlex.quote(value)}")
        if args.env_file:
            args.env_file.write_text(json.dumps({FUNCTION_ID: env}, indent=2) + "\n")
            print(f"# wrote {args.env_file}")
        print("# local stack running; Ctrl-C stops it", flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())  # `kill` stops it cleanly too
        with suppress(KeyboardInterrupt):
            stopped.wait()


if __name__ == "__main__":
    main()
