"""The cold path of the `sam build` output, with and without the bytecode `make build` ships.

    make build && .venv/bin/python -m bench.built_cold_path [--runs 7]

bench/cold_path.py (the handler, then the naive path) in fresh `python -S` processes whose path
holds the standard library, the built function (Lambda's /var/task) and the built layer's
`python/` (/opt/python), and nothing else: each module comes from the build, with its bytecode or
without. The build is copied twice, as it is and with every __pycache__ removed (what `sam build`
alone ships), and nothing compiled is written down, as in Lambda's read-only /var/task and /opt.
The layer is built for arm64: on an x86_64 machine its compiled modules (wrapt's,
charset_normalizer's) run their pure-Python fallbacks, so compare the two builds with each other,
not with Lambda's own times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_stack import BenchStack
from bench.measuring import stack_process
from local.commands.bytecode import BUILD_DIR, artifacts
from local.stand_ins.function_template import FUNCTION_ID, ROOT


def cold_path(kind: str, build: Path) -> float:
    task = build / FUNCTION_ID
    [layer] = (a.folder / "python" for a in artifacts(build) if a.folder.name != FUNCTION_ID)
    path = [str(task), str(layer), str(ROOT)]
    code = (
        f"import sys, runpy; sys.path[:0] = {path!r}; sys.argv = ['cold_path', {kind!r}]; "
        "runpy.run_module('bench.cold_path', run_name='__main__')"
    )
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(task), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    run = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-S", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])["seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not (BUILD_DIR / FUNCTION_ID).is_dir():
        print("no build: run `make build` first", file=sys.stderr)
        return 2
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="built-") as scratch, stack_process() as env:
        builds = {
            "with bytecode": Path(scratch) / "with",
            "without bytecode": Path(scratch) / "without",
        }
        shutil.copytree(BUILD_DIR, builds["with bytecode"])
        shutil.copytree(
            BUILD_DIR, builds["without bytecode"], ignore=shutil.ignore_patterns("__pycache__")
        )
        os.environ.update(env)
        BenchStack(env, quick=True).configure(latency=0.0, cache_ttl=0)
        for _ in range(args.runs):  # in turns, so that all see the same machine
            for kind in ("handler", "naive"):
                for name, build in builds.items():
                    samples.setdefault((kind, name), []).append(cold_path(kind, build))
    print(f"APIs at 0 ms, {args.runs} fresh processes each, min / median / max:")
    for (kind, name), seconds in samples.items():
        spread = (min(seconds), statistics.median(seconds), max(seconds))
        print(f"  {kind:8} {name:17} " + " / ".join(f"{1000 * s:.0f}" for s in spread) + " ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
