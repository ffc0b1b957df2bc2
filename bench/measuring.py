"""How the benchmark measures: medians of repeated runs, fresh processes for the cold path and
the footprint, the local stack in a process of its own, the function's output kept quiet."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from local.commands import bytecode
from local.stand_ins import task_root
from local.stand_ins.stack import FUNCTION_ID

ROOT = Path(__file__).resolve().parents[1]


class Timing(float):
    """The median of repeated runs, which remembers the fastest and the slowest: one number on a
    shared machine says little without its spread."""

    low: float
    high: float
    runs: int

    def __new__(cls, samples: list[float]) -> Timing:
        timing = super().__new__(cls, statistics.median(samples))
        timing.low, timing.high, timing.runs = min(samples), max(samples), len(samples)
        return timing


def median(
    runs: int, action: Callable[[], Any], timed: bool = True, before: Callable[[], Any] = list
) -> Timing:
    samples = []
    for _ in range(runs):
        before()
        if timed:
            started = time.perf_counter()
            action()
            samples.append(time.perf_counter() - started)
        else:
            samples.append(action())
    return Timing(samples)


def cold_path_in_a_fresh_process(kind: str, task: Path) -> dict[str, float]:
    """bench/cold_path.py in a fresh interpreter (its last line: the measurement), the
    function's folder `task` on its path from the start, as Lambda's runtime puts it there.
    Nothing it compiles is written down: /var/task and /opt are read-only in Lambda."""
    command = [sys.executable, "-m", "bench.cold_path", kind]
    env = {
        **os.environ,
        "LAMBDA_TASK_ROOT": str(task),
        "PYTHONPATH": str(task),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    run = subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def task_root_as_built(*, with_bytecode: bool = True) -> Iterator[Path]:
    """A copy of the function's folder as `make build` ships it: with the bytecode it compiles
    (local/commands/bytecode.py), or, `with_bytecode=False`, as `sam build` alone leaves it."""
    with tempfile.TemporaryDirectory(prefix="task-root-") as scratch:
        folder = Path(scratch) / "task"
        shutil.copytree(
            task_root.function_dir(), folder, ignore=shutil.ignore_patterns("__pycache__")
        )
        if with_bytecode:
            bytecode.compile_artifact(bytecode.function_artifact(folder))
        yield folder


def footprint_in_a_fresh_process(who: str, kind: str, runs: int) -> dict[str, float]:
    """bench/footprint.py in a fresh interpreter: one container's worth of invocations."""
    command = [sys.executable, "-m", "bench.footprint", who, kind, str(runs)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(run.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The function's logs and metrics go to stdout, as in Lambda; here they go nowhere."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def stack_process() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        env_file = Path(folder) / "env.json"
        stack = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "local.stand_ins.stack", "--env-file", str(env_file)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not env_file.exists() or not env_file.read_text().strip():
                if stack.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the local stack did not start")
                time.sleep(0.1)
            time.sleep(0.1)  # the file is written in one go; let the write finish
            yield json.loads(env_file.read_text())[FUNCTION_ID]
        finally:
            stack.terminate()
            stack.wait(timeout=30)
