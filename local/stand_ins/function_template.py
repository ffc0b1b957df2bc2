"""What template.yaml says about the function, read from the template itself so that local runs
never drift from a deployment: its handler and code folder, its layer, its timeout and memory,
and the variables it sets.

Read with cfn-lint's loader, which knows CloudFormation's short tags (!Ref, !Sub, ...).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FUNCTION_ID = "EnrichFunction"  # the function's logical ID


@dataclass(frozen=True)
class FunctionFacts:
    code_uri: str  # relative to the template's folder
    handler: str  # module.function
    layer_uris: tuple[str, ...]  # ContentUri of each layer the template builds
    runtime: str
    timeout_seconds: float
    memory_mb: int
    # The function's own variables and the ones every function gets (Globals): literal values as
    # written, a parameter's default for a !Ref to it, None where the template computes them.
    variables: dict[str, str | None]


@functools.cache
def function_facts(template: Path = TEMPLATE) -> FunctionFacts:
    from cfnlint.decode import cfn_yaml

    document = cfn_yaml.load(str(template))
    defaults_of = {
        name: parameter["Default"]
        for name, parameter in document.get("Parameters", {}).items()
        if "Default" in parameter
    }
    defaults = document.get("Globals", {}).get("Function", {})
    resources = document["Resources"]
    properties = {**defaults, **resources[FUNCTION_ID]["Properties"]}
    variables = {
        **defaults.get("Environment", {}).get("Variables", {}),
        **resources[FUNCTION_ID]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    layers = tuple(
        resources[ref["Ref"]]["Properties"]["ContentUri"]
        for ref in properties.get("Layers", [])
        if isinstance(ref, dict) and ref.get("Ref") in resources
    )
    return FunctionFacts(
        code_uri=str(properties["CodeUri"]),
        handler=str(properties["Handler"]),
        layer_uris=tuple(str(uri) for uri in layers),
        runtime=str(properties["Runtime"]),
        timeout_seconds=float(properties["Timeout"]),
        memory_mb=int(properties["MemorySize"]),
        variables={name: _value(value, defaults_of) for name, value in variables.items()},
    )


def _value(value: Any, parameter_defaults: dict[str, Any]) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = parameter_defaults.get(value["Ref"])
    return str(value) if isinstance(value, str | int | float) else None
