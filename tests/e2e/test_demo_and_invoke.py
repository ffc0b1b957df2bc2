"""`make demo`, `make invoke` and `python -m local.stand_ins.stack --env-file` as separate
processes: the happy path and each mistake a user makes (a missing file, a malformed setting),
which must end in a clear message rather than a traceback."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.e2e.command_runs import (
    EVENTS,
    ROOT,
    TYPEFORM_EVENT_ID,
    command_env,
    run_command,
    section_of,
)

# Each test runs the local commands as separate processes: left out of `make test-fast`.
pytestmark = pytest.mark.slow


# --- make demo ------------------------------------------------------------------------------------
def test_demo_prints_an_answer_and_the_queued_messages_for_every_sample():
    run = run_command("local.commands.demo", timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for path in EVENTS:
        assert f"\n{path.name}\n  answer  " in out, path.name
    expected = 0
    for path in EVENTS:
        event = json.loads(path.read_text())
        records = len(event.get("Records", [])) or 1
        block = out.split(f"\n{path.name}\n", 1)[1].split("\n\n", 1)[0]
        queued = block.count("\n  queued  ")
        refused = re.search(r"answer  (400|415) ", block)
        assert queued == (0 if refused else records), block
        expected += queued
    summary = re.search(r"(\d+) events → (\d+) messages on the queue", out)
    assert summary is not None
    assert (int(summary[1]), int(summary[2])) == (len(EVENTS), expected)
    assert "customer@example.com  enriched  contact_id=42  relationship=customer" in out
    assert run.stderr.strip() == ""


def test_demo_exits_1_and_names_the_samples_that_raised():
    files = ["events/http-api-tally.json", "events/direct-invoke.json"]
    run = run_command("local.commands.demo", *files, env={"HTTP_TIMEOUT_SECONDS": "abc"})
    assert run.returncode == 1
    assert (
        "answer  raised ConfigurationError: HTTP_TIMEOUT_SECONDS must be a number from 0.05 to 10"
        in run.stdout
    )
    assert "2 of 2 samples raised unexpectedly" in run.stderr
    refused = "HTTP_TIMEOUT_SECONDS must be a number from 0.05 to 10"
    assert f"{refused}: http-api-tally.json, direct-invoke.json" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_demo_counts_a_refused_direct_invoke_as_its_answer_not_a_failure(tmp_path: Path):
    """A refused direct invoke raises by design (so an async invoke is retried, then parked)."""
    no_email = tmp_path / "direct-no-email.json"
    no_email.write_text(json.dumps({"event_id": "evt-1", "message": "no address here"}))
    run = run_command("local.commands.demo", str(no_email), env={"REQUIRE_EMAIL": "true"})
    assert "answer  raised Refusal:" in run.stdout
    assert run.returncode == 0, run.stderr


def test_demo_explains_a_missing_file():
    run = run_command("local.commands.demo", "events/nope.json")
    assert run.returncode == 2
    assert "events/nope.json: no such file" in run.stderr
    assert "events/http-api-typeform.json" in run.stderr  # the samples are listed
    assert "Traceback" not in run.stderr


# --- make invoke ----------------------------------------------------------------------------------
def test_invoke_prints_the_logs_the_answer_and_the_queued_event():
    run = run_command("local.commands.invoke", "events/http-api-typeform.json")
    assert run.returncode == 0, run.stderr
    logs, rest = section_of(run.stdout, "function logs")
    assert '"message":"event forwarded"' in logs
    assert '"email":"c*******@example.com"' in logs  # masked, as the function logs it
    answer, rest = section_of(rest, "answer")
    assert answer.startswith("202 ")
    assert json.loads(answer[4:]) == {"event_id": TYPEFORM_EVENT_ID, "status": "enriched"}
    queue, _ = section_of(rest, "output queue: 1 message")
    attributes, _, body = queue.partition("\n")
    assert "enrichment_status=enriched" in attributes
    assert "relationship=customer" in attributes
    event = json.loads(body)
    assert event["event_id"] == TYPEFORM_EVENT_ID
    assert event["enrichment"]["contact_id"] == 42
    assert event["enrichment"]["relationship"] == "customer"


def test_invoke_runs_an_sqs_batch_and_shows_every_message():
    run = run_command("local.commands.invoke", "sqs-batch")  # a sample's name is enough
    assert run.returncode == 0, run.stderr
    assert "events/sqs-batch.json → the handler on the local stack (sqs event)" in run.stdout
    assert '"batchItemFailures": []' in run.stdout
    assert "output queue: 4 messages" in run.stdout


def test_invoke_exits_1_when_the_function_raises():
    run = run_command(
        "local.commands.invoke", "events/http-api-tally.json", env={"HTTP_TIMEOUT_SECONDS": "abc"}
    )
    assert run.returncode == 1
    assert "the function raised" in run.stdout
    assert "ConfigurationError: HTTP_TIMEOUT_SECONDS must be a number from 0.05 to 10" in run.stdout
    assert "output queue: nothing arrived" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stderr == ""


def test_invoke_explains_a_missing_file_an_invalid_one_and_no_file(tmp_path: Path):
    missing = run_command("local.commands.invoke", "events/http-api-typeform.jsn")
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert "events/http-api-typeform.json" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"body": ')
    invalid = run_command("local.commands.invoke", str(broken))
    assert invalid.returncode == 2
    assert "is not valid JSON" in invalid.stderr
    nothing = run_command("local.commands.invoke")
    assert nothing.returncode == 2
    assert "usage: make invoke EVENT=" in nothing.stderr
    for run in (missing, invalid, nothing):
        assert "Traceback" not in run.stderr


def test_make_invoke_passes_the_event_file_on():
    make = shutil.which("make")
    assert make is not None
    run = subprocess.run(  # noqa: S603 - make, as the user runs it
        [make, "--no-print-directory", "invoke", "EVENT=events/http-api-tally.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=command_env(),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "relationship=supplier" in run.stdout


# --- python -m local.stand_ins.stack --env-file ---------------------------------------------
def test_the_stack_writes_the_env_file_shape_sam_local_invoke_reads(tmp_path: Path):
    env_file = tmp_path / "env.json"
    stack = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "local.stand_ins.stack", "--env-file", str(env_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=command_env(),
    )
    try:
        for line in stack.stdout:  # the file is written before this line
            if line.startswith("# local stack running"):
                break
        written = json.loads(env_file.read_text())
        # `sam local invoke --env-vars` looks a function's variables up by its logical ID.
        assert list(written) == ["EnrichFunction"]
        template = (ROOT / "template.yaml").read_text()
        assert "\n  EnrichFunction:\n    Type: AWS::Serverless::Function\n" in template
        variables = written["EnrichFunction"]
        assert all(isinstance(v, str) for v in variables.values())
        sqs = boto3.client(
            "sqs",
            endpoint_url=variables["AWS_ENDPOINT_URL"],
            region_name=variables["AWS_REGION"],
            aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        )
        queue = sqs.get_queue_attributes(
            QueueUrl=variables["OUTPUT_QUEUE_URL"], AttributeNames=["QueueArn"]
        )
        assert queue["Attributes"]["QueueArn"].endswith(":enriched-events")
    finally:
        stack.terminate()
        stack.wait(timeout=30)
    assert stack.returncode == 0  # SIGTERM stops it cleanly
