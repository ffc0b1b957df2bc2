"""The function's import graph: no cycles, and no arrow running back up the layers.

Layers, top to bottom (docs/architecture.md says why):

    app                the handler: picks the intake for the event's source
    runtime            the composition root: builds each stage's parts once per container
    intake             each source's event → deliveries, and the answer its source expects
    forwarding         the enriched event onto the queue, each delivery once
    lookups            both APIs at once, paced, cached
    checks             what is accepted: signatures, bodies, the email, the delivery's id
    platform_services  AWS calls, deadlines, keys, logs, metrics, traces
    settings           the configuration, read from the environment

A module may import from its own layer and from any layer below it. Every import counts: at
module level, inside a function (the lazy ones the cold path relies on), and under
TYPE_CHECKING: a type named there is still a dependency a reader follows, and the code is
written against it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "functions" / "enrich"

LAYERS = (
    "app",
    "runtime",
    "intake",
    "forwarding",
    "lookups",
    "checks",
    "platform_services",
    "settings",
)


def module_name(path: Path, root: Path = FUNCTION_DIR) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def modules(root: Path = FUNCTION_DIR) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def imported_names(source: str) -> Iterator[str]:
    """Every absolute import anywhere in the module: module level, in functions, under
    TYPE_CHECKING. `from a.b import c` names a.b and a.b.c (c may be a module)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph(root: Path = FUNCTION_DIR) -> dict[str, set[str]]:
    """{module: the function's own modules it imports}; a package's __init__ counts as the
    package, and importing a.b.c runs a and a.b first."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        for imported in imported_names(path.read_text()):
            parts = imported.split(".")
            for end in range(1, len(parts) + 1):
                target = ".".join(parts[:end])
                if target in known and target != name and not name.startswith(target + "."):
                    targets.add(target)
        graph[name] = targets
    return graph


def layer_of(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def back_arrows(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, targets in graph.items() for b in targets if layer_of(b) < layer_of(a)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph()


def test_every_module_is_in_a_layer():
    assert {name.split(".")[0] for name in GRAPH} == set(LAYERS)


def test_there_are_no_import_cycles():
    assert cycles(GRAPH) == []


def test_no_arrow_runs_back_up_the_layers():
    assert back_arrows(GRAPH) == set()


# --- the checks above can fail -------------------------------------------------------------------
@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A function folder of three layers' modules, clean to begin with."""
    (tmp_path / "intake").mkdir()
    (tmp_path / "checks").mkdir()
    (tmp_path / "intake" / "__init__.py").write_text("")
    (tmp_path / "checks" / "__init__.py").write_text("")
    (tmp_path / "intake" / "http.py").write_text("from checks.body import parse\n")
    (tmp_path / "checks" / "body.py").write_text("import json\n")
    (tmp_path / "app.py").write_text("from intake import http\n")
    return tmp_path


def test_a_clean_folder_has_no_cycle_and_no_back_arrow(planted):
    graph = import_graph(planted)
    assert graph["intake.http"] == {"checks", "checks.body"}
    assert cycles(graph) == []
    assert back_arrows(graph) == set()


def test_a_back_arrow_is_found_in_a_function_and_under_type_checking(planted):
    (planted / "checks" / "body.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from intake.http import Thing\n"
        "def parse():\n    import app\n"
    )
    graph = import_graph(planted)
    assert back_arrows(graph) == {
        ("checks.body", "intake"),
        ("checks.body", "intake.http"),
        ("checks.body", "app"),
    }


def test_a_cycle_is_found(planted):
    (planted / "checks" / "body.py").write_text("from checks import other\n")
    (planted / "checks" / "other.py").write_text("def f():\n    from checks.body import g\n")
    assert cycles(import_graph(planted)) == [["checks.body", "checks.other"]]
