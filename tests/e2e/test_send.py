"""`make send` against a `make serve` in another process: replays, the same delivery again, a
fault pasted from the sandbox index, a signed base64 webhook byte for byte, each tool's
signature (the secret never shown), and a clear message for each mistake."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests

from tests import signing
from tests.curl_commands import curl_commands
from tests.e2e.command_runs import (
    ROOT,
    TYPEFORM_EVENT_ID,
    free_port,
    http_event,
    run_command,
    serving,
)

# Each test runs make serve and make send as separate processes: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def test_send_replays_an_event_file_and_the_same_delivery_again_is_a_replay():
    port = free_port()
    with serving(env={"PORT": str(port)}) as serve:  # PORT, not --port
        assert serve.url == f"http://127.0.0.1:{port}"
        first = run_command(
            "local.commands.send", "events/http-api-typeform.json", env={"PORT": str(port)}
        )
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines()[1] == "202 Accepted"
        answer = {"event_id": TYPEFORM_EVENT_ID, "status": "enriched"}
        assert json.loads(first.stdout.splitlines()[2]) == answer
        line = serve.line_with("POST /webhooks/typeform")
        assert f"202 POST /webhooks/typeform  event_id={TYPEFORM_EVENT_ID}  enriched" in line
        assert "relationship=customer" in line

        again = run_command(
            "local.commands.send", "events/http-api-typeform.json", "--port", str(port)
        )
        assert json.loads(again.stdout.splitlines()[2]) == answer
        replay = serve.next_line()
        assert replay.startswith(f"202 POST /webhooks/typeform  event_id={TYPEFORM_EVENT_ID}")
        assert "duplicate delivery: the first answer replayed, nothing queued" in replay


def test_a_fault_pasted_from_the_sandbox_index_makes_the_next_event_partial():
    with serving("--port", "0") as serve:
        minimo_index = requests.get(serve.controls["Minimo"], timeout=5).text
        faults = [c for c in curl_commands(minimo_index) if c["url"].endswith("/faults")]
        fault = faults[0]  # three 503s: as many as the function's attempts
        requests.post(fault["url"], headers=fault["headers"], data=fault["data"], timeout=5)
        port = serve.url.rsplit(":", 1)[1]
        sent = run_command("local.commands.send", "events/http-api-tally.json", "--port", port)
        assert '"status": "partial"' in sent.stdout
        line = serve.line_with("POST /webhooks/tally")
        assert (
            "  partial  relationship=supplier  lookup errors: minimo service_unavailable  " in line
        )


def test_send_replays_a_signed_base64_webhook_byte_for_byte(tmp_path: Path):
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    body = json.dumps({"email": "customer@example.com", "note": "café"}).encode()
    signed = http_event(body, signing.standard_webhooks(secret, "msg_replay_1", body))
    forged = http_event(body, signing.standard_webhooks("whsec_Zm9yZ2Vk", "msg_replay_2", body))
    (tmp_path / "signed.json").write_text(json.dumps(signed))
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    with serving("--port", "0", env={"WEBHOOK_SECRET": secret}) as serve:
        port = serve.url.rsplit(":", 1)[1]
        accepted = run_command("local.commands.send", str(tmp_path / "signed.json"), "--port", port)
        assert "202 Accepted" in accepted.stdout, accepted.stdout
        assert '"event_id": "msg_replay_1"' in accepted.stdout
        refused = run_command("local.commands.send", str(tmp_path / "forged.json"), "--port", port)
        assert "401 Unauthorized" in refused.stdout
        assert refused.returncode == 0  # a 4xx is the function's answer, not a failure


def test_send_signs_each_sample_as_its_tool_does_and_never_shows_the_secret():
    secrets = {
        "hubspot": "e2e-hubspot-client-secret",
        "jotform": "e2e-jotform-url-token",
        "microsoft-forms": "e2e-power-automate-token",
    }
    with serving("--port", "0", env={"WEBHOOK_SECRETS": json.dumps(secrets)}) as serve:
        cases = [
            ("events/http-api-hubspot.json", "hubspot", "hubspot"),
            ("events/http-api-jotform-multipart.json", "auto", "jotform"),
            ("events/rest-api-microsoft-forms.json", "bearer", "microsoft-forms"),
        ]
        for event, sign, provider in cases:
            sent = run_command(
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
        wrong = run_command(
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
    unset = run_command("local.commands.send", "events/http-api-hubspot.json", "--sign", "hubspot")
    assert unset.returncode == 2
    assert "--sign needs the secret in $WEBHOOK_SIGNING_SECRET" in unset.stderr


def test_send_explains_each_mistake(tmp_path: Path):
    port = free_port()
    nowhere = run_command(
        "local.commands.send", "events/http-api-typeform.json", env={"PORT": str(port)}
    )
    assert nowhere.returncode == 1
    assert f"nothing answers at http://127.0.0.1:{port}." in nowhere.stderr
    assert f"Start the function first, in another terminal: PORT={port} make serve" in (
        nowhere.stderr
    )
    batch = run_command("local.commands.send", "events/sqs-batch.json")
    assert batch.returncode == 2
    assert "it is an SQS batch" in batch.stderr
    assert "make invoke EVENT=" in batch.stderr
    absent = tmp_path / "never-captured.json"  # never a file the repo might hold
    missing = run_command("local.commands.send", str(absent))
    assert missing.returncode == 2
    assert f"{absent}: no such file" in missing.stderr
    broken = tmp_path / "captured.json"
    broken.write_text("{'not': 'json'}")
    invalid = run_command("local.commands.send", str(broken))
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
    with serving("--port", "0") as serve:
        port = serve.url.rsplit(":", 1)[1]
        run = run_command("local.commands.send", str(tmp_path / "generated.json"), "--port", port)
        assert run.stdout.splitlines()[1] == "404 Not Found"
        assert run.returncode == 1
        assert "/my/path is not a webhook route" in run.stderr
        assert "POST /webhooks/<provider>" in run.stderr
