"""The template loaded and transformed once per run, for every parameter set (template_model).

The checks never change what these return: a test that breaks a template breaks a deep copy.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.template.template_model import (
    PARAMETER_SETS,
    effective,
    load_sam_template,
    sam_transform,
)


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="session")
def transformed(sam_template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: sam_transform(sam_template, p) for name, p in PARAMETER_SETS.items()}


@pytest.fixture(scope="session")
def cfn(transformed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Transformed, every Fn::If branch still in place (what the policy checks look at)."""
    return transformed["everything-standard"]


@pytest.fixture(scope="session")
def deployed(transformed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: effective(transformed[name], p) for name, p in PARAMETER_SETS.items()}


@pytest.fixture(scope="session")
def everything(deployed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return deployed["everything-standard"]
