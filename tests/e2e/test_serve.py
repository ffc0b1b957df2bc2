"""`make serve` as a separate process, answering curl and `make send` over real HTTP: one line
per request, the sandboxes beside it, queued mode, and a clear message (no traceback) for a
configuration error, a port in use and a bad port."""

from __future__ import annotations

import socket

import pytest
import requests

from tests.e2e.command_runs import (
    free_port_with_neighbours,
    run_command,
    serving,
)

# Each test runs make serve (and make send) as separate processes: left out of `make test-fast`.
pytestmark = pytest.mark.slow


# --- make serve and make send ---------------------------------------------------------------------
def post_from_the_website(serve, webhook_id: str) -> requests.Response:
    """The supplier's form post, with the sender's delivery id."""
    return requests.post(
        f"{serve.url}/webhooks/website",
        data={"email": "supplier@partner.example"},
        headers={"webhook-id": webhook_id},
        timeout=30,
    )


def test_serve_answers_curl_with_one_line_per_request():
    with serving("--port", "0") as serve:
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
    port = free_port_with_neighbours()
    with serving("--port", str(port)) as serve:
        assert serve.controls["Minimo"] == f"http://127.0.0.1:{port + 1}/__sandbox/"
        assert serve.controls["sales"] == f"http://127.0.0.1:{port + 2}/__sandbox/"
        assert requests.get(serve.controls["Minimo"], timeout=5).status_code == 200


def test_serve_in_queued_mode_answers_at_once_and_prints_the_batch():
    with serving("--port", "0", env={"WEBHOOK_MODE": "queued"}) as serve:
        answer = post_from_the_website(serve, "queued-e2e-1")
        assert answer.status_code == 202
        assert answer.json() == {"event_id": "queued-e2e-1", "status": "queued"}
        line = serve.line_with("POST /webhooks/website")
        assert "event_id=queued-e2e-1  queued for enrichment" in line
        assert serve.line_with("intake batch of 1: 1 forwarded, 0 back to the queue")
        enriched = serve.next_line()
        assert "event_id=queued-e2e-1  enriched  relationship=supplier" in enriched
        again = post_from_the_website(serve, "queued-e2e-1")
        assert again.json() == {"event_id": "queued-e2e-1", "status": "queued"}
        replay = serve.line_with("POST /webhooks/website")
        assert "queued for enrichment" not in replay
        assert "duplicate delivery: the first answer replayed, nothing queued" in replay


def test_serve_in_queued_mode_prints_a_record_waiting_out_an_outage_then_whole():
    env = {"WEBHOOK_MODE": "queued", "LOOKUP_RETRY_WINDOW_SECONDS": "30"}  # waits of 1-2 s
    with serving("--port", "0", env=env) as serve:
        requests.put(
            serve.controls["Minimo"] + "outage", json={"seconds": 2, "status": 503}, timeout=5
        ).raise_for_status()
        answer = post_from_the_website(serve, "outage-e2e-1")
        assert answer.json() == {"event_id": "outage-e2e-1", "status": "queued"}
        assert serve.line_with("intake batch of 1: 0 forwarded, 1 back to the queue")
        waiting = serve.next_line()
        assert "waiting: minimo service_unavailable x 1; next try in" in waiting
        assert "(receive 1)" in waiting
        assert serve.line_with("intake batch of 1: 1 forwarded, 0 back to the queue")
        assert "event_id=outage-e2e-1  enriched  relationship=supplier" in serve.next_line()


def test_serve_names_a_configuration_error_once_and_answers_502_as_api_gateway():
    with serving("--port", "0", env={"HTTP_TIMEOUT_SECONDS": "abc"}) as serve:
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
    with serving("--port", "0", "--verbose") as serve:
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
        run = run_command("local.commands.serve", "--port", str(port), timeout=30)
    assert run.returncode == 1
    assert f"port {port} is already in use" in run.stderr
    assert f"PORT={port + 1} make serve" in run.stderr
    bad = run_command("local.commands.serve", env={"PORT": "abc"}, timeout=30)
    assert bad.returncode == 2
    assert "the port must be a number" in bad.stderr
    for done in (run, bad):
        assert "Traceback" not in done.stderr
