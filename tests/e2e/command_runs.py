"""The local commands run as a newcomer runs them: separate processes (`python -m
local.commands.<command>`) on the real stack, with free ports and a `make serve` to talk to."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[2]


EVENTS = sorted((ROOT / "events").glob("*.json"))


TYPEFORM_EVENT_ID = "01JD3K8Q9W4T5Y6U7I8O9P0A1S"  # in events/http-api-typeform.json


# --- helpers --------------------------------------------------------------------------------------
def command_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The user's environment without what the test run itself set for the function."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POWERTOOLS_", "AWS_")) and k not in {"PORT", "LOG_LEVEL"}
    }
    return {**base, **(extra or {})}


def run_command(module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(  # noqa: S603 - our own modules
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=command_env(env),
    )


def section_of(text: str, title: str) -> tuple[str, str]:
    """The text under a `──────── title` rule of `make invoke`, and the text after it."""
    after = text.split(f"──────── {title}", 1)[1].split("\n", 1)[1]
    body, rule, rest = after.partition("────────")
    return body.strip(), rule + rest


def http_event(body: bytes, headers: dict[str, str]) -> dict:
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


def free_port_with_neighbours() -> int:
    """A free port whose next two are free too."""
    for _ in range(50):
        port = free_port()
        if port + 2 <= 65535 and all(is_free(p) for p in (port + 1, port + 2)):
            return port
    raise AssertionError("no three free ports in a row")


def is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
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
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "local.commands.serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=command_env(env),
    )
    # However the test goes, the server is gone within 90 s, so the reads above cannot hang.
    watchdog = threading.Timer(90, process.kill)
    watchdog.start()
    try:
        yield ServeProcess(process)
    finally:
        watchdog.cancel()
        process.terminate()
        process.wait(timeout=30)
