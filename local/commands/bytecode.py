"""`make build`'s last step: the built function and layer, compiled to the bytecode Lambda loads.

    python -m local.commands.bytecode             # every artifact under .aws-sam/build
    python -m local.commands.bytecode --check     # exit 1 if any module there lacks its bytecode

Lambda's /var/task and /opt are read-only, so Python cannot keep what it compiles: without
shipped .pyc files, each cold start compiles every module it imports from source, botocore,
Powertools and requests included. `sam build` ships none (its Python builder unpacks wheels as
they are), and shipping the usual timestamp-based ones would not help: SAM writes every zip entry
dated 1980, so the source time a .pyc records never matches and it is recompiled anyway
(aws/aws-lambda-builders#924). So the bytecode here is hash-based (PEP 552):
- the function's is checked: Python hashes the source before trusting it, so a file edited after
  the build (in the Lambda console, say) is never shadowed by stale bytecode;
- a layer's is unchecked: a layer version never changes, so its sources are not even read.

Bytecode is specific to a Python version: it is compiled only by the template's (python3.13);
any other interpreter leaves the build as `sam build` made it (it still runs, just slower to
start).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import py_compile
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from local.stand_ins.function_template import FUNCTION_ID, ROOT, function_facts

BUILD_DIR = ROOT / ".aws-sam" / "build"


@dataclass(frozen=True)
class Artifact:
    folder: Path  # the artifact as `sam build` wrote it
    mode: py_compile.PycInvalidationMode


def function_artifact(folder: Path) -> Artifact:
    return Artifact(folder, py_compile.PycInvalidationMode.CHECKED_HASH)


def layer_artifact(folder: Path) -> Artifact:
    return Artifact(folder, py_compile.PycInvalidationMode.UNCHECKED_HASH)


def artifacts(build_dir: Path = BUILD_DIR) -> list[Artifact]:
    """The function (unpacked at /var/task) and each layer (unpacked at /opt)."""
    folders = sorted(path for path in build_dir.iterdir() if path.is_dir())
    return [
        function_artifact(folder) if folder.name == FUNCTION_ID else layer_artifact(folder)
        for folder in folders
    ]


def compile_artifact(artifact: Artifact, *, workers: int = 1) -> bool:
    """Every module in the artifact, compiled beside its source (__pycache__/*.cpython-313.pyc).
    `workers=0`: a process per CPU (from a `__main__` guard only, as multiprocessing requires)."""
    return compileall.compile_dir(
        artifact.folder,
        quiet=1,
        workers=workers,
        invalidation_mode=artifact.mode,
    )


def without_bytecode(folder: Path) -> Iterator[Path]:
    """The modules under `folder` that this interpreter would have to compile on import."""
    for source in sorted(folder.rglob("*.py")):
        if not Path(importlib.util.cache_from_source(str(source))).is_file():
            yield source


def problems(folders: list[Path], runtime: str) -> list[str]:
    """Modules a build ships without their bytecode, which every cold start would compile.
    Checked only by the runtime's own Python, whose bytecode it is."""
    if not is_lambdas_python(runtime):
        return []
    missing = [source for folder in folders for source in without_bytecode(folder)]
    if not missing:
        return []
    return [f"{len(missing)} modules have no bytecode, {missing[0].name} first: run `make build`"]


def is_lambdas_python(runtime: str) -> bool:
    return runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.commands.bytecode", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that it was done")
    args = parser.parse_args(argv)
    if not BUILD_DIR.is_dir():
        print("no build: run `make build` first", file=sys.stderr)
        return 2
    runtime = function_facts().runtime
    if not is_lambdas_python(runtime):
        print(
            f"bytecode: this is Python {sys.version.split()[0]}, the function runs on {runtime}: "
            "the build ships no bytecode (it runs, but compiles its modules on each cold start)",
            file=sys.stderr,
        )
        return 1 if args.check else 0
    if args.check:
        found = problems([artifact.folder for artifact in artifacts()], runtime)
        print("\n".join(found) or "bytecode: every module has it", file=sys.stderr)
        return 1 if found else 0
    ok = True
    for artifact in artifacts():
        ok = compile_artifact(artifact, workers=0) and ok
        print(f"bytecode: {artifact.folder.relative_to(ROOT)} ({artifact.mode.name.lower()})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
