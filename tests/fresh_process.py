"""Events run through the handler in a fresh process (a new container), by a driver module of
the tests that reads them from a file and writes what became of them to another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # drivers run as modules from the repo root


def run_driver(
    driver: str, events: list[Any], tmp_path: Path, env: dict[str, str], *args: str
) -> tuple[Any, str]:
    """The driver's outcomes file, parsed, and what the process printed. Only PATH and `env`
    reach the process, as only the function's configuration reaches a Lambda container."""
    events_file, outcomes_file = tmp_path / "events.json", tmp_path / "outcomes.json"
    events_file.write_text(json.dumps(events))
    done = subprocess.run(  # noqa: S603 - our own driver, with this interpreter
        [sys.executable, "-m", driver, str(events_file), str(outcomes_file), *args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(outcomes_file.read_text()), done.stdout
