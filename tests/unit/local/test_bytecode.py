"""make build's bytecode step: what Lambda loads instead of compiling modules on a cold start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.commands import bytecode
from local.stand_ins.function_template import FUNCTION_ID


def artifact_with(folder: Path, source: str) -> Path:
    package = folder / "package"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "answer.py").write_text(source)
    return folder


def imported_answer(folder: Path) -> str:
    """What `package.answer` says in a fresh interpreter that may not write bytecode, as in
    Lambda's read-only /var/task."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import package.answer as answer; print(answer.ANSWER)",
        ],
        env={**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip()


SOURCE = "ANSWER = 'built'\n"


def test_the_functions_bytecode_is_checked_against_its_source(tmp_path: Path) -> None:
    folder = artifact_with(tmp_path / "task", SOURCE)
    assert bytecode.compile_artifact(bytecode.function_artifact(folder))
    assert list(bytecode.without_bytecode(folder)) == []
    assert imported_answer(folder) == "built"
    # Edited after the build (the Lambda console can): the source wins over stale bytecode.
    (folder / "package" / "answer.py").write_text(SOURCE.replace("built", "edited"))
    assert imported_answer(folder) == "edited"


def test_a_layers_bytecode_is_used_without_reading_its_source(tmp_path: Path) -> None:
    folder = artifact_with(tmp_path / "layer" / "python", SOURCE)
    assert bytecode.compile_artifact(bytecode.layer_artifact(tmp_path / "layer"))
    # A layer version never changes; its bytecode is trusted as built (unchecked), which is
    # what shows that Python loads the bytecode rather than compiling the source.
    (folder / "package" / "answer.py").write_text(SOURCE.replace("built", "edited"))
    assert imported_answer(folder) == "built"


def test_missing_bytecode_is_named(tmp_path: Path) -> None:
    folder = artifact_with(tmp_path / "task", SOURCE)
    assert [path.name for path in bytecode.without_bytecode(folder)] == ["__init__.py", "answer.py"]


def test_the_function_and_each_layer_are_told_apart(tmp_path: Path) -> None:
    for name in (FUNCTION_ID, "DependenciesLayer"):
        (tmp_path / name).mkdir()
    (tmp_path / "template.yaml").write_text("")
    found = {a.folder.name: a.mode.name for a in bytecode.artifacts(tmp_path)}
    assert found == {FUNCTION_ID: "CHECKED_HASH", "DependenciesLayer": "UNCHECKED_HASH"}


@pytest.mark.parametrize(
    ("runtime", "matches"),
    [(f"python{sys.version_info.major}.{sys.version_info.minor}", True), ("python2.7", False)],
)
def test_bytecode_is_compiled_only_by_the_runtimes_python(runtime: str, matches: bool) -> None:
    assert bytecode.is_lambdas_python(runtime) is matches


def test_a_build_without_bytecode_is_a_problem(tmp_path: Path) -> None:
    folder = artifact_with(tmp_path / "task", SOURCE)
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert bytecode.problems([folder], runtime) == [
        "2 modules have no bytecode, __init__.py first: run `make build`"
    ]
    bytecode.compile_artifact(bytecode.function_artifact(folder))
    assert bytecode.problems([folder], runtime) == []
