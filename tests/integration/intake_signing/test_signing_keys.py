"""The intake queue's signing key: from Secrets Manager and rotated, unreadable, missing, and
shared by containers as separate processes."""

from __future__ import annotations

import json

import pytest

from local.stand_ins.lambda_events import sqs_record
from tests import signing
from tests.integration.intake_signing.intake_messages import (
    TYPEFORM_SECRET,
    forged,
    put_on_intake,
    typeform_delivery,
)


@pytest.mark.slow  # drains the intake queue, key rotations between
def test_the_key_can_come_from_secrets_manager_and_be_rotated(
    stack, invoke, queued, drain, function_env
):
    """Deployed, the key is the template's generated secret. During a rotation the secret holds
    `new old`: what the old key signed is still accepted; once the old key is gone, such a
    message is refused, never forwarded as the webhook it claims to be."""
    from runtime import forget_current_runtime

    sm = stack.client("secretsmanager")
    old = stack.intake_signing_key
    queued(INTAKE_SIGNING_KEY=None, INTAKE_SIGNING_SECRET_ARN=stack.intake_secret_arn)
    invoke(typeform_delivery())
    [signed_with_old] = stack.receive_all(stack.intake_queue_url)
    assert signed_with_old["attributes"]["intake_signature"] == signing.intake_signature(
        old, signed_with_old["text"]
    )
    try:
        sm.put_secret_value(SecretId=stack.intake_secret_arn, SecretString=f"new-key-1 {old}")
        forget_current_runtime()  # a container that has read the secret since
        put_on_intake(
            stack, signed_with_old["text"], signed_with_old["attributes"]["intake_signature"]
        )
        drain()
        [accepted] = stack.receive_all()
        assert accepted["body"]["source"]["kind"] == "http"

        sm.put_secret_value(SecretId=stack.intake_secret_arn, SecretString="new-key-1")
        forget_current_runtime()
        record = sqs_record(signed_with_old["text"])
        record["messageAttributes"] = {
            "intake_signature": {
                "stringValue": signed_with_old["attributes"]["intake_signature"],
                "dataType": "String",
            }
        }
        assert invoke({"Records": [record]})["batchItemFailures"] != []
        assert stack.receive_all() == []
    finally:
        sm.put_secret_value(SecretId=stack.intake_secret_arn, SecretString=old)


def test_an_unreadable_signing_key_queues_nothing_and_judges_nothing(
    stack, invoke, queued, function_env
):
    missing = stack.intake_secret_arn.replace("intake-signing-key", "no-such-secret")
    queued(INTAKE_SIGNING_KEY=None, INTAKE_SIGNING_SECRET_ARN=missing)
    result = invoke(typeform_delivery())
    assert result["statusCode"] == 503
    assert json.loads(result["body"])["error"]["code"] == "unavailable"
    assert stack.receive_all(stack.intake_queue_url) == []
    records = [sqs_record(forged(event_id=f"f-{n}")) for n in range(3)]
    for record in records:
        record["messageAttributes"] = {
            "intake_signature": {"stringValue": "v1=" + "B" * 44, "dataType": "String"}
        }
    result = invoke({"Records": records})
    assert len(result["batchItemFailures"]) == 3  # they wait until the key can be read
    assert stack.receive_all() == []


def test_an_intake_queue_without_a_signing_key_stops_the_function_at_start(
    stack, invoke, function_env
):
    from settings import ConfigurationError

    function_env(INTAKE_QUEUE_URL=stack.intake_queue_url, INTAKE_SIGNING_KEY=None)
    with pytest.raises(ConfigurationError, match="INTAKE_SIGNING_KEY"):
        invoke(typeform_delivery())


@pytest.mark.slow  # two containers as separate processes
def test_one_container_signs_what_another_accepts(stack, function_env, drain, tmp_path):
    """Two containers as separate processes sharing the stack: the edge's container queues the
    webhook, another enriches it; the key they share is the secret's."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    shared = {
        "INTAKE_SIGNING_KEY": None,
        "INTAKE_SIGNING_SECRET_ARN": stack.intake_secret_arn,
        "WEBHOOK_SECRETS": json.dumps({"typeform": TYPEFORM_SECRET}),
    }
    function_env(**shared)  # this process: the intake's container
    events_file, outcomes_file = tmp_path / "events.json", tmp_path / "outcomes.json"
    events_file.write_text(json.dumps([typeform_delivery()]))
    edge_env = stack.env(INTAKE_QUEUE_URL=stack.intake_queue_url, **shared)
    done = subprocess.run(  # noqa: S603 - our own driver, with this interpreter
        [
            sys.executable,
            "-m",
            "tests.integration.cold_start_driver",
            *(map(str, (events_file, outcomes_file))),
            "10",
        ],
        env={"PATH": os.environ.get("PATH", ""), **edge_env},
        cwd=Path(__file__).parents[3],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [edge] = json.loads(outcomes_file.read_text())
    assert edge["result"]["statusCode"] == 202
    drain()
    [message] = stack.receive_all()
    assert message["body"]["source"]["provider"] == "typeform"
    assert message["body"]["event_id"] == "tf-1001"
