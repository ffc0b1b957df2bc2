"""What the libraries log (docs/trust-boundaries.md): with a handler on the root logger at DEBUG,
as Lambda's runtime attaches one (awslambdaric's bootstrap, _setup_logging, at
AWS_LAMBDA_LOG_LEVEL; ApplicationLogLevel=TRACE is DEBUG there), nothing the function's run
logs carries an address, a key, a secret or the payload, while the lines still say what
happened. The real handler, against the local stack: keys read from moto's Secrets Manager,
lookups whose connection is reset and retried, SQS sends that botocore retries."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator

import pytest

from local.stand_ins.aws_fault_proxy import AwsFaultProxy
from local.stand_ins.lambda_events import http_api_event, sqs_record
from local.stand_ins.sqs_event_source import SqsEventSource
from tests import signing

EMAIL = "customer@example.com"
MARKER = "payload-marker-7f3a9c"  # only in the submission: wherever it shows, the payload does
# The local stack's own parts log too (moto, the sandboxes' HTTP servers); they stand in for AWS
# and the APIs, and are not shipped with the function.
LOCAL_STACK_LOGGERS = ("werkzeug", "moto", "local")


def rendered(record: logging.LogRecord) -> str:
    """The record every way a formatter can show it: the message, the exception and its
    traceback, and every attribute (a JSON formatter, such as Lambda's, prints the extras)."""
    parts = [record.getMessage(), logging.Formatter().format(record)]
    if record.exc_info:
        parts += traceback.format_exception(*record.exc_info)
    parts += [f"{name}={value!r}" for name, value in vars(record).items()]
    return "\n".join(parts)


class RootHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(LOCAL_STACK_LOGGERS):
            self.lines.append((record.name, rendered(record)))

    def text(self) -> str:
        return "\n".join(text for _, text in self.lines)


@pytest.fixture
def root_logs() -> Iterator[RootHandler]:
    root = logging.getLogger()
    handler, level = RootHandler(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def aws(stack, function_env) -> Iterator[AwsFaultProxy]:
    proxy = AwsFaultProxy(stack.moto_url)
    proxy.start()
    function_env(
        AWS_ENDPOINT_URL=proxy.url,
        API_KEYS_SECRET_ARN=stack.secret_arn,  # as deployed: the keys come from Secrets Manager
        MINIMO_API_KEY=None,
        SALES_API_KEY=None,
        IDEMPOTENCY_TABLE=stack.table_name,
        LOG_LEVEL="DEBUG",
    )
    yield proxy
    proxy.stop()


def secrets_of(stack) -> dict[str, str]:
    token = stack.minimo_api_key
    return {
        "the Minimo token": token,
        "the Minimo key alone": token.split("-", 2)[-1],
        "the sales key": stack.sales_api_key,
        "the webhook secret": stack.webhook_secret,
        "the webhook secret's key": stack.webhook_secret.removeprefix("whsec_"),
        "the intake signing key": stack.intake_signing_key,
    }


ADDRESS_SPELLINGS = (EMAIL, "customer%40example.com", "customer%2540example.com", "customer\\u0040")


def assert_nothing_leaks(stack, logs: RootHandler) -> None:
    text = logs.text()
    for name, secret in secrets_of(stack).items():
        assert secret not in text, f"{name} was logged"
    for spelling in ADDRESS_SPELLINGS:
        leaked = [n for n, line in logs.lines if spelling.lower() in line.lower()]
        assert not leaked, f"{spelling} logged by {sorted(set(leaked))}"
    assert MARKER not in text, "the payload was logged"


def signed(stack, body: dict, msg_id: str) -> dict:
    raw = json.dumps(body).encode()
    return http_api_event(raw, headers=signing.standard_webhooks(stack.webhook_secret, msg_id, raw))


def test_at_debug_nothing_shipped_holds_an_address_key_secret_or_payload(
    stack, invoke, aws, root_logs
):
    # A lookup whose connection is reset (urllib3's retry warning names the URL), an SQS send
    # that fails once (botocore retries it), keys from Secrets Manager (botocore logs the answer).
    stack.minimo.add_faults([{"reset": True}], email=EMAIL)
    aws.add_faults([{"status": 500}])
    result = invoke(signed(stack, {"email": EMAIL, "note": MARKER}, "msg_logs_1"))
    assert result["statusCode"] == 202
    batch = {"Records": [sqs_record({"email": EMAIL, "note": MARKER, "submission_id": "l-1"})]}
    assert invoke(batch) == {"batchItemFailures": []}
    assert aws.faults_played == 1

    assert_nothing_leaks(stack, root_logs)
    text = root_logs.text()
    # ... and the lines still say what happened: which call, which route, which retry, how big.
    names = {name for name, _ in root_logs.lines}
    assert {"urllib3.connectionpool", "botocore.endpoint", "botocore.parsers"} <= names
    assert "Retrying" in text
    assert "/public/v1/contacts/by-email/<address>" in text
    assert "GetSecretValue" in text
    assert "SendMessageBatch" in text
    assert "bytes>" in text  # bodies, as their size
    assert "Retry needed" in text or "retry" in text.lower()


def test_at_info_the_retry_warning_keeps_the_route_not_the_address(
    stack, invoke, function_env, root_logs
):
    root = logging.getLogger()
    root.setLevel(logging.INFO)  # the template's default ApplicationLogLevel
    stack.minimo.add_faults([{"reset": True}], email=EMAIL)
    assert invoke(http_api_event({"email": EMAIL}))["statusCode"] == 202
    warnings = [line for name, line in root_logs.lines if name.startswith("urllib3")]
    assert warnings, "urllib3 warned about the retry"
    assert all("customer" not in line for line in warnings)
    assert any("by-email/<address>" in line for line in warnings)


@pytest.mark.slow  # queued mode drained through the local event source mapping
def test_queued_mode_logs_neither_the_signing_key_nor_the_queued_payload(
    stack, invoke, aws, function_env, root_logs
):
    import app

    function_env(
        INTAKE_QUEUE_URL=stack.intake_queue_url,
        INTAKE_SIGNING_KEY=None,
        INTAKE_SIGNING_SECRET_ARN=stack.intake_secret_arn,
    )
    assert (
        invoke(signed(stack, {"email": EMAIL, "note": MARKER}, "msg_logs_2"))["statusCode"] == 202
    )
    SqsEventSource(
        stack.client("sqs"), stack.intake_queue_url, app.lambda_handler, batching_window=0.2
    ).drain()
    assert [m["body"]["event_id"] for m in stack.receive_all()] == ["msg_logs_2"]
    assert_nothing_leaks(stack, root_logs)


def test_the_check_finds_what_it_looks_for(stack):
    """The search above sees a leak where there is one (records made for the purpose)."""
    handler = RootHandler()
    for message in (f"url /by-email/customer%40example.com {MARKER}", stack.sales_api_key):
        handler.handle(logging.LogRecord("any", logging.DEBUG, __file__, 1, message, None, None))
    with pytest.raises(AssertionError):
        assert_nothing_leaks(stack, handler)
