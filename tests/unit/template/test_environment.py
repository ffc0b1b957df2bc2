"""The function's environment: every variable the code reads is set, documented and in range."""

from __future__ import annotations

import ast
import re

from settings import ENVIRONMENT_VARIABLES
from tests.unit.template.template_model import FUNCTION_DIR, ROOT, function_environment

CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"


# Read only by local runs: deployed, the keys and the webhook secret come from Secrets Manager.
LOCAL_ONLY = {
    "MINIMO_API_KEY",
    "SALES_API_KEY",
    "WEBHOOK_SECRET",
    "WEBHOOK_SECRETS",
    "INTAKE_SIGNING_KEY",
}


def documented_variables() -> set[str]:
    """The environment variables of docs/configuration.md's table (first column)."""
    names: set[str] = set()
    for line in CONFIGURATION_DOC.read_text().splitlines():
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def settings_variables(known: set[str]) -> set[str]:
    """ALL_CAPS string literals in settings/ that name a known or a Powertools variable."""
    literals = {
        node.value
        for path in (FUNCTION_DIR / "settings").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", node.value)
    }
    return {
        name
        for name in literals
        if name in known or name.startswith("POWERTOOLS_") or name == "LOG_LEVEL"
    }


def environment_reads(source: str) -> set[str]:
    """Names in os.environ[...], os.environ.get(...), os.getenv(...) (also via `from os import`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and _reads_environment(node.func):
            names |= _constant_strings(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            names |= _constant_strings(node.slice)
    return names


def variables_the_function_needs() -> set[str]:
    known = documented_variables()
    names = known | settings_variables(known) | set(ENVIRONMENT_VARIABLES)
    for path in FUNCTION_DIR.rglob("*.py"):
        names |= environment_reads(path.read_text())
    return {n for n in names if not n.startswith("AWS_")} - LOCAL_ONLY


def test_the_function_environment_covers_what_the_code_reads(deployed):
    needed = variables_the_function_needs()
    assert {"OUTPUT_QUEUE_URL", "SALES_API_BASE_URL", "API_KEYS_SECRET_ARN"} <= needed
    for template in deployed.values():
        variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        assert sorted(needed - set(variables)) == []
        assert not LOCAL_ONLY & set(variables), "keys belong in Secrets Manager"


def test_the_function_environment_covers_the_readme_table(everything):
    names = documented_variables()
    assert len(names) >= 15, "the table was not found"
    variables = everything["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert sorted(names - LOCAL_ONLY - set(variables)) == []


def test_every_variable_the_code_reads_is_documented():
    assert sorted(set(ENVIRONMENT_VARIABLES) - documented_variables()) == []


def test_the_environment_scan_sees_direct_reads():
    source = (
        "import os\nfrom os import environ, getenv\n"
        'os.environ.get("A_VAR")\nos.getenv("B_VAR")\nos.environ["C_VAR"]\n'
        'environ.get("D_VAR", "x")\ngetenv("E_VAR")\n'
    )
    assert environment_reads(source) == {"A_VAR", "B_VAR", "C_VAR", "D_VAR", "E_VAR"}


def _reads_environment(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value):
        return True
    if isinstance(func, ast.Attribute) and func.attr == "getenv":
        return True
    return isinstance(func, ast.Name) and func.id == "getenv"


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _constant_strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    return set()


def test_every_number_parameter_stays_within_what_the_function_accepts(deployed):
    """A value the template allows never stops the function at start (settings.NUMBER_RANGES)."""
    from settings import NUMBER_RANGES

    template = deployed["everything-standard"]
    environment = function_environment(template)
    checked = []
    for variable, allowed in NUMBER_RANGES.items():
        value = environment[variable]
        if variable == "PACING_FALLBACK_CONTAINERS":  # ReservedConcurrency when it is set
            assert value == {"Ref": "ReservedConcurrency"}, value  # everything-standard sets it
            parameter = template["Parameters"]["ReservedConcurrency"]
            # -1 (unreserved) picks IntakeMaximumConcurrency instead; 0 runs nothing at all.
            assert parameter["MaxValue"] <= allowed.maximum, variable
            parameter = template["Parameters"]["IntakeMaximumConcurrency"]
        else:
            parameter = template["Parameters"][value["Ref"]]
        assert parameter["Type"] == "Number", variable
        assert allowed.minimum <= parameter["MinValue"] <= parameter["MaxValue"], variable
        assert parameter["MaxValue"] <= allowed.maximum, variable
        assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"], variable
        checked.append(variable)
    assert len(checked) == len(NUMBER_RANGES)
