"""`make demo` and `make serve` as a newcomer runs them: separate processes, real stack."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import requests

ROOT = Path(__file__).parents[2]
EVENTS = sorted((ROOT / "events").glob("*.json"))


def test_demo_prints_an_answer_and_the_queued_messages_for_every_sample():
    run = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
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


def test_serve_answers_curl_and_prints_what_was_queued():
    serve = subprocess.Popen(
        [sys.executable, "-m", "local.serve", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**_clean_env(), "LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"},
    )
    # However the test goes, the server is gone within a minute, so reads below cannot hang.
    watchdog = threading.Timer(60, serve.kill)
    watchdog.start()
    try:
        line = serve.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/webhooks/", line)
        assert url is not None, line
        answer = requests.post(
            f"{url[1]}/webhooks/website", data={"email": "supplier@partner.example"}, timeout=30
        )
        assert answer.status_code == 202
        assert answer.json()["status"] == "enriched"
        missing = requests.post(f"{url[1]}/elsewhere", data={"email": "a@x.io"}, timeout=30)
        assert missing.status_code == 404
        printed = ""
        while '"relationship": "supplier"' not in printed:
            line = serve.stdout.readline()
            assert line, f"serve stopped before printing the queued message:\n{printed}"
            printed += line
        assert "queued:" in printed
    finally:
        watchdog.cancel()
        serve.terminate()
        serve.wait(timeout=30)


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
