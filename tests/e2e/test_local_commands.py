"""The local commands as a newcomer runs them: separate processes, real stack, real HTTP.

`make demo`, `make invoke`, `make serve`, `make send` and
`python -m local.stand_ins.stack --env-file`, each with its happy path and the mistakes a user makes
(a missing file, a malformed setting, a port in use, nothing listening), which must end in a clear
message rather than a traceback.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import requests

from tests import signing
from tests.curl_commands import curl_commands

ROOT = Path(__file__).parents[2]
EVENTS = sorted((ROOT / "events").glob("*.json"))
TYPEFORM_EVENT_ID = "01JD3K8Q9W4T5Y6U7I8O9P0A1S"  # in events/http-api-typeform.json


# --- make demo ------------------------------------------------------------------------------------
def test_demo_prints_an_answer_and_the_queued_messages_for_every_sample():
    run = _run("local.commands.demo", timeout=120)
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
    run = _run("local.commands.demo", *files, env={"HTTP_TIMEOUT_SECONDS": "abc"})
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
    run = _run("local.commands.demo", str(no_email), env={"REQUIRE_EMAIL": "true"})
    assert "answer  raised Refusal:" in run.stdout
    assert run.returncode == 0, run.stderr


def test_demo_explains_a_missing_file():
    run = _run("local.commands.demo", "events/nope.json")
    assert run.returncode == 2
    assert "events/nope.json: no such file" in run.stderr
    assert "events/http-api-typeform.json" in run.stderr  # the samples are listed
    assert "Traceback" not in run.stderr


# --- make invoke ----------------------------------------------------------------------------------
def test_invoke_prints_the_logs_the_answer_and_the_queued_event():
    run = _run("local.commands.invoke", "events/http-api-typeform.json")
    assert run.returncode == 0, run.stderr
    logs, rest = _section(run.stdout, "function logs")
    assert '"message":"event forwarded"' in logs
    assert '"email":"c*******@example.com"' in logs  # masked, as the function logs it
    answer, rest = _section(rest, "answer")
    assert answer.startswith("202 ")
    assert json.loads(answer[4:]) == {"event_id": TYPEFORM_EVENT_ID, "status": "enriched"}
    queue, _ = _section(rest, "output queue: 1 message")
    attributes, _, body = queue.partition("\n")
    assert "enrichment_status=enriched" in attributes
    assert "relationship=customer" in attributes
    event = json.loads(body)
    assert event["event_id"] == TYPEFORM_EVENT_ID
    assert event["enrichment"]["contact_id"] == 42
    assert event["enrichment"]["relationship"] == "customer"


def test_invoke_runs_an_sqs_batch_and_shows_every_message():
    run = _run("local.commands.invoke", "sqs-batch")  # a sample's name is enough
    assert run.returncode == 0, run.stderr
    assert "events/sqs-batch.json → the handler on the local stack (sqs event)" in run.stdout
    assert '"batchItemFailures": []' in run.stdout
    assert "output queue: 4 messages" in run.stdout


def test_invoke_exits_1_when_the_function_raises():
    run = _run(
        "local.commands.invoke", "events/http-api-tally.json", env={"HTTP_TIMEOUT_SECONDS": "abc"}
    )
    assert run.returncode == 1
    assert "the function raised" in run.stdout
    assert "ConfigurationError: HTTP_TIMEOUT_SECONDS must be a number from 0.05 to 10" in run.stdout
    assert "output queue: nothing arrived" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stderr == ""


def test_invoke_explains_a_missing_file_an_invalid_one_and_no_file(tmp_path: Path):
    missing = _run("local.commands.invoke", "events/http-api-typeform.jsn")
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert "events/http-api-typeform.json" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"body": ')
    invalid = _run("local.commands.invoke", str(broken))
    assert invalid.returncode == 2
    assert "is not valid JSON" in invalid.stderr
    nothing = _run("local.commands.invoke")
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
        env=_env(),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "relationship=supplier" in run.stdout


# --- make serve and make send ---------------------------------------------------------------------
def test_serve_answers_curl_with_one_line_per_request():
    with _serve("--port", "0") as serve:
        answer = requests.post(
            f"{serve.url}/webhooks/website", data={"email": "supplier@partner.example"}, timeout=30
        )
        assert answer.status_code == 202
        assert answer.json()["status"] == "enriched"
        # The banner's end, then exactly one line per request: no logs, no event dump.
        line = serve.next_line()
        assert line.startswith("202 POST /webhooks/website  event_id="), line
        assert "  enriched  relationship=supplier  " in line
        assert line.endswith(" ms")
        missing = requests.post(f"{serve.url}/elsewhere", data={"email": "a@x.io"}, timeout=30)
        assert missing.status_code == 404
        assert missing.json() == {"message": "Not Found"}
        assert serve.next_line().startswith("404 POST /elsewhere  not a webhook route")


def test_serve_puts_the_sandboxes_beside_it_so_pasted_commands_work():
    """The README's sandbox commands name 3001 and 3002: serve's port plus one and two."""
    port = _free_port_with_neighbours()
    with _serve("--port", str(port)) as serve:
        assert serve.controls["Minimo"] == f"http://127.0.0.1:{port + 1}/__sandbox/"
        assert serve.controls["sales"] == f"http://127.0.0.1:{port + 2}/__sandbox/"
        assert requests.get(serve.controls["Minimo"], timeout=5).status_code == 200


def test_serve_in_queued_mode_answers_at_once_and_prints_the_batch():
    with _serve("--port", "0", env={"WEBHOOK_MODE": "queued"}) as serve:
        answer = requests.post(
            f"{serve.url}/webhooks/website",
            data={"email": "supplier@partner.example"},
            headers={"webhook-id": "queued-e2e-1"},
            timeout=30,
        )
        assert answer.status_code == 202
        assert answer.json() == {"event_id": "queued-e2e-1", "status": "queued"}
        line = serve.line_with("POST /webhooks/website")
        assert "event_id=queued-e2e-1  queued for enrichment" in line
        assert serve.line_with("intake batch of 1: 1 forwarded, 0 back to the queue")
        enriched = serve.next_line()
        assert "event_id=queued-e2e-1  enriched  relationship=supplier" in enriched
        again = requests.post(
            f"{serve.url}/webhooks/website",
            data={"email": "supplier@partner.example"},
            headers={"webhook-id": "queued-e2e-1"},
            timeout=30,
        )
        assert again.json() == {"event_id": "queued-e2e-1", "status": "queued"}
        replay = serve.line_with("POST /webhooks/website")
        assert "queued for enrichment" not in replay
        assert "duplicate delivery: the first answer replayed, nothing queued" in replay


def test_send_replays_an_event_file_and_the_same_delivery_again_is_a_replay():
    port = _free_port()
    with _serve(env={"PORT": str(port)}) as serve:  # PORT, not --port
        assert serve.url == f"http://127.0.0.1:{port}"
        first = _run(
            "local.commands.send", "events/http-api-typeform.json", env={"PORT": str(port)}
        )
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines()[1] == "202 Accepted"
        answer = {"event_id": TYPEFORM_EVENT_ID, "status": "enriched"}
        assert json.loads(first.stdout.splitlines()[2]) == answer
        line = serve.line_with("POST /webhooks/typeform")
        assert f"202 POST /webhooks/typeform  event_id={TYPEFORM_EVENT_ID}  enriched" in line
        assert "relationship=customer" in line

        again = _run("local.commands.send", "events/http-api-typeform.json", "--port", str(port))
        assert json.loads(again.stdout.splitlines()[2]) == answer
        replay = serve.next_line()
        assert replay.startswith(f"202 POST /webhooks/typeform  event_id={TYPEFORM_EVENT_ID}")
        assert "duplicate delivery: the first answer replayed, nothing queued" in replay


def test_a_fault_pasted_from_the_sandbox_index_makes_the_next_event_partial():
    with _serve("--port", "0") as serve:
        minimo_index = requests.get(serve.controls["Minimo"], timeout=5).text
        faults = [c for c in curl_commands(minimo_index) if c["url"].endswith("/faults")]
        fault = faults[0]  # three 503s: as many as the function's attempts
        requests.post(fault["url"], headers=fault["headers"], data=fault["data"], timeout=5)
        port = serve.url.rsplit(":", 1)[1]
        sent = _run("local.commands.send", "events/http-api-tally.json", "--port", port)
        assert '"status": "partial"' in sent.stdout
        line = serve.line_with("POST /webhooks/tally")
        assert (
            "  partial  relationship=supplier  lookup errors: minimo service_unavailable  " in line
        )


def test_send_replays_a_signed_base64_webhook_byte_for_byte(tmp_path: Path):
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    body = json.dumps({"email": "customer@example.com", "note": "café"}).encode()
    signed = _http_event(body, signing.standard_webhooks(secret, "msg_replay_1", body))
    forged = _http_event(body, signing.standard_webhooks("whsec_Zm9yZ2Vk", "msg_replay_2", body))
    (tmp_path / "signed.json").write_text(json.dumps(signed))
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    with _serve("--port", "0", env={"WEBHOOK_SECRET": secret}) as serve:
        port = serve.url.rsplit(":", 1)[1]
        accepted = _run("local.commands.send", str(tmp_path / "signed.json"), "--port", port)
        assert "202 Accepted" in accepted.stdout, accepted.stdout
        assert '"event_id": "msg_replay_1"' in accepted.stdout
        refused = _run("local.commands.send", str(tmp_path / "forged.json"), "--port", port)
        assert "401 Unauthorized" in refused.stdout
        assert refused.returncode == 0  # a 4xx is the function's answer, not a failure


def test_send_signs_each_sample_as_its_tool_does_and_never_shows_the_secret():
    secrets = {
        "hubspot": "e2e-hubspot-client-secret",
        "jotform": "e2e-jotform-url-token",
        "microsoft-forms": "e2e-power-automate-token",
    }
    with _serve("--port", "0", env={"WEBHOOK_SECRETS": json.dumps(secrets)}) as serve:
        cases = [
            ("events/http-api-hubspot.json", "hubspot", "hubspot"),
            ("events/http-api-jotform-multipart.json", "auto", "jotform"),
            ("events/rest-api-microsoft-forms.json", "bearer", "microsoft-forms"),
        ]
        for event, sign, provider in cases:
            sent = _run(
                "local.commands.send",
                event,
                "--url",
                f"{serve.url}/webhooks/{{provider}}",  # the WebhookUrl output, as printed
                "--sign",
                sign,
                env={"WEBHOOK_SIGNING_SECRET": secrets[provider]},
            )
            assert "202 Accepted" in sent.stdout, sent.stdout + sent.stderr
            line = serve.line_with(f"POST /webhooks/{provider}")
            assert line.startswith("202 "), line
            for secret in secrets.values():
                assert secret not in sent.stdout + sent.stderr + line
            if provider == "jotform":
                assert "/webhooks/jotform?token=***" in line
                assert "/webhooks/jotform?token=***" in sent.stdout
        wrong = _run(
            "local.commands.send",
            "events/http-api-hubspot.json",
            "--port",
            serve.url.rsplit(":", 1)[1],
            "--sign",
            "hubspot",
            env={"WEBHOOK_SIGNING_SECRET": "not-the-client-secret"},
        )
        assert "401 Unauthorized" in wrong.stdout
        assert "the signature does not match" in wrong.stdout
    unset = _run("local.commands.send", "events/http-api-hubspot.json", "--sign", "hubspot")
    assert unset.returncode == 2
    assert "--sign needs the secret in $WEBHOOK_SIGNING_SECRET" in unset.stderr


def test_send_explains_each_mistake(tmp_path: Path):
    port = _free_port()
    nowhere = _run("local.commands.send", "events/http-api-typeform.json", env={"PORT": str(port)})
    assert nowhere.returncode == 1
    assert f"nothing answers at http://127.0.0.1:{port}." in nowhere.stderr
    assert f"Start the function first, in another terminal: PORT={port} make serve" in (
        nowhere.stderr
    )
    batch = _run("local.commands.send", "events/sqs-batch.json")
    assert batch.returncode == 2
    assert "it is an SQS batch" in batch.stderr
    assert "make invoke EVENT=" in batch.stderr
    absent = tmp_path / "never-captured.json"  # never a file the repo might hold
    missing = _run("local.commands.send", str(absent))
    assert missing.returncode == 2
    assert f"{absent}: no such file" in missing.stderr
    broken = tmp_path / "captured.json"
    broken.write_text("{'not': 'json'}")
    invalid = _run("local.commands.send", str(broken))
    assert invalid.returncode == 2
    assert "is not valid JSON" in invalid.stderr
    for run in (nowhere, batch, missing, invalid):
        assert "Traceback" not in run.stderr


def test_send_says_when_the_event_is_not_for_a_webhook_route(tmp_path: Path):
    """As `sam local generate-event apigateway http-api-proxy` makes one: path /my/path."""
    event = json.loads((ROOT / "events" / "http-api-tally.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/my/path"
    event.pop("pathParameters", None)
    (tmp_path / "generated.json").write_text(json.dumps(event))
    with _serve("--port", "0") as serve:
        port = serve.url.rsplit(":", 1)[1]
        run = _run("local.commands.send", str(tmp_path / "generated.json"), "--port", port)
        assert run.stdout.splitlines()[1] == "404 Not Found"
        assert run.returncode == 1
        assert "/my/path is not a webhook route" in run.stderr
        assert "POST /webhooks/<provider>" in run.stderr


def test_serve_names_a_configuration_error_once_and_answers_502_as_api_gateway():
    with _serve("--port", "0", env={"HTTP_TIMEOUT_SECONDS": "abc"}) as serve:
        assert serve.line_with("configuration error:") == (
            "configuration error: HTTP_TIMEOUT_SECONDS must be a number from 0.05 to 10"
        )
        for _ in range(2):
            answer = requests.post(
                f"{serve.url}/webhooks/website", data={"email": "a@b.io"}, timeout=30
            )
            assert answer.status_code == 502
            assert answer.json() == {"message": "Internal Server Error"}
            line = serve.line_with("POST /webhooks/website")
            assert line.startswith("502 POST /webhooks/website  function error: ConfigurationError")
    output = serve.all_output()
    assert output.count("HTTP_TIMEOUT_SECONDS") == 1, output
    assert "Traceback" not in output


def test_serve_verbose_prints_the_function_logs_and_the_whole_event():
    with _serve("--port", "0", "--verbose") as serve:
        requests.post(
            f"{serve.url}/webhooks/website", data={"email": "customer@example.com"}, timeout=30
        )
        assert '"message":"event forwarded"' in serve.line_with('"message":"event forwarded"')
        serve.line_with("202 POST /webhooks/website")
        assert serve.next_line() == "{"
        assert serve.next_line() == '  "schema": "enriched-event/v1",'


def test_serve_explains_a_port_in_use_and_a_bad_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = _run("local.commands.serve", "--port", str(port), timeout=30)
    assert run.returncode == 1
    assert f"port {port} is already in use" in run.stderr
    assert f"PORT={port + 1} make serve" in run.stderr
    bad = _run("local.commands.serve", env={"PORT": "abc"}, timeout=30)
    assert bad.returncode == 2
    assert "the port must be a number" in bad.stderr
    for done in (run, bad):
        assert "Traceback" not in done.stderr


# --- python -m local.stand_ins.stack --env-file ---------------------------------------------
def test_the_stack_writes_the_env_file_shape_sam_local_invoke_reads(tmp_path: Path):
    env_file = tmp_path / "env.json"
    stack = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "local.stand_ins.stack", "--env-file", str(env_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
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


# --- helpers --------------------------------------------------------------------------------------
def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The user's environment without what the test run itself set for the function."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POWERTOOLS_", "AWS_")) and k not in {"PORT", "LOG_LEVEL"}
    }
    return {**base, **(extra or {})}


def _run(module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(  # noqa: S603 - our own modules
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(env),
    )


def _section(text: str, title: str) -> tuple[str, str]:
    """The text under a `──────── title` rule of `make invoke`, and the text after it."""
    after = text.split(f"──────── {title}", 1)[1].split("\n", 1)[1]
    body, rule, rest = after.partition("────────")
    return body.strip(), rule + rest


def _http_event(body: bytes, headers: dict[str, str]) -> dict:
    """A captured HTTP API event with a base64 body, as API Gateway logs it."""
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/{provider}",
        "rawPath": "/webhooks/forms",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **headers},
        "requestContext": {"http": {"method": "POST", "path": "/webhooks/forms"}},
        "pathParameters": {"provider": "forms"},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def _free_port_with_neighbours() -> int:
    """A free port whose next two are free too."""
    for _ in range(50):
        port = _free_port()
        if port + 2 <= 65535 and all(_is_free(p) for p in (port + 1, port + 2)):
            return port
    raise AssertionError("no three free ports in a row")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _ServeProcess:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        banner = self.line_with("one line per request")
        head = "\n".join(self._lines)
        url = re.search(r"serving the webhook at (http://127\.0\.0\.1:\d+)/webhooks/", head)
        assert url is not None, head
        self.url = url[1]
        self.controls = {
            name: found
            for found, name in re.findall(r"curl (http://\S+/__sandbox/)\s+# (Minimo|sales)", head)
        }
        assert set(self.controls) == {"Minimo", "sales"}, banner

    def next_line(self) -> str:
        line = self.process.stdout.readline()
        assert line, "make serve stopped:\n" + "\n".join(self._lines)
        self._lines.append(line.rstrip("\n"))
        return self._lines[-1]

    def line_with(self, text: str) -> str:
        while True:
            line = self.next_line()
            if text in line:
                return line

    def all_output(self) -> str:
        rest = self.process.stdout.read() if self.process.stdout else ""
        return "\n".join(self._lines) + "\n" + rest


@contextmanager
def _serve(*args: str, env: dict[str, str] | None = None) -> Iterator[_ServeProcess]:
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "local.commands.serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(env),
    )
    # However the test goes, the server is gone within 90 s, so the reads above cannot hang.
    watchdog = threading.Timer(90, process.kill)
    watchdog.start()
    try:
        yield _ServeProcess(process)
    finally:
        watchdog.cancel()
        process.terminate()
        process.wait(timeout=30)
