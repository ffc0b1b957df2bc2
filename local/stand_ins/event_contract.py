"""The consumer's contract, checked on every message read from the output queue.

docs/schema/enriched-event-v1.json is what consumers are promised; it lets unknown properties
through, because v1 may gain optional ones. What the function sends is held to a stricter
reading of the same schema: no property the schema does not name. So a new field cannot reach
the queue without reaching the schema (and the CHANGELOG) first. The message attributes are
held to what docs/schema/README.md says of them.

LocalStack.receive_all applies `check_message` to the output queues, so every test that reads
the queue, and `make demo`, checks the contract.
"""

from __future__ import annotations

import copy
import functools
import json
import operator
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "schema" / "enriched-event-v1.json"
# Objects whose properties belong to someone else: the submission and Minimo's contact.
_OPEN_OBJECTS = ("payload", "contact")
# docs/schema/README.md, "The message attributes": where the body holds each one's value.
_ATTRIBUTE_PATHS = {
    "event_id": ("event_id",),
    "enrichment_status": ("enrichment", "status"),
    "source_kind": ("source", "kind"),
    "relationship": ("enrichment", "relationship"),
}
# Set only when the body's value is not null (nor empty: SQS takes no empty attribute value).
_SET_WHEN_GIVEN = {"relationship"}


class ContractViolation(AssertionError):
    """A message the function sent breaks the consumer's contract."""


@functools.cache
def published_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


@functools.cache
def _strict_validator() -> Draft202012Validator:
    schema = copy.deepcopy(published_schema())
    _close(schema)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _close(node: Any, name: str = "") -> None:
    """Adds additionalProperties: false to every object schema that names its properties."""
    if isinstance(node, dict):
        if "properties" in node and name not in _OPEN_OBJECTS and node.get("type") == "object":
            node.setdefault("additionalProperties", False)
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    _close(sub, prop)
            else:
                _close(value, key)
    elif isinstance(node, list):
        for item in node:
            _close(item, name)


def check_message(body: Any, attributes: Mapping[str, str]) -> None:
    """Raises ContractViolation naming every way the body or its attributes break the contract."""
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in _strict_validator().iter_errors(body)
    ]
    if not problems:
        problems = _attribute_problems(body, attributes)
    if problems:
        raise ContractViolation("; ".join(problems[:5]))


def _attribute_problems(body: dict[str, Any], attributes: Mapping[str, str]) -> list[str]:
    expected = {}
    for name, path in _ATTRIBUTE_PATHS.items():
        value = functools.reduce(operator.getitem, path, body)
        if value or name not in _SET_WHEN_GIVEN:
            expected[name] = value
    if dict(attributes) != expected:
        return [f"message attributes {dict(attributes)} are not {expected}"]
    return []
