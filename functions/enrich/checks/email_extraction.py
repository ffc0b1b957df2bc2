"""Finds the submitter's email in a submission, whatever form tool shaped it.

Configured JMESPath expressions (EMAIL_PATHS) are tried first, in order. Otherwise the payload
is walked once (bounded) and every valid address is ranked by how surely it is the submitter's:

  0  a field that declares itself an email field: Typeform answers (`type: "email"`), Tally
     (`type: "INPUT_EMAIL"`), `{"value": ..., "field_type": "email"}`
  1  a field named like an email: HubSpot `{"name": "email", "value": ...}`, `{"label": "E-mail"}`
  2  a key named like an email: `email`, `Email`, `e-mail`, `email_address`, ...
  3  a key that mentions email: `q3_email`, `manager_email`, ...
  4  any other value that is a valid address

Ties go to the shallower, then the earlier one. The winner's path is reported as a JMESPath
expression; strings holding JSON (Jotform's `rawRequest`) are searched too, and their paths use
Powertools' `powertools_json()`, so any reported path can be pasted into EMAIL_PATHS as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jmespath
from aws_lambda_powertools.utilities.jmespath_utils import PowertoolsFunctions
from jmespath.exceptions import JMESPathError

from checks.email_addresses import normalise_email
from settings import ConfigurationError

# Bounds on the walk, so that a hostile payload costs bounded work.
MAX_NODES = 5_000
MAX_DEPTH = 32
MAX_EMBEDDED_JSON_CHARS = 65_536

_EMAIL_TYPES = {"email", "inputemail", "emailaddress", "emailfield"}
_TYPE_KEYS = ("type", "field_type", "fieldType", "input_type", "inputType")
_NAME_KEYS = ("name", "label", "key", "title", "field", "question", "ref", "id")
_VALUE_KEYS = ("email", "value", "answer", "text", "values")
_EMAIL_KEYS = {"email", "emailaddress", "mail", "youremail", "contactemail", "useremail"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JMESPATH_OPTIONS = jmespath.Options(custom_functions=PowertoolsFunctions())


@dataclass(frozen=True, slots=True)
class EmailMatch:
    email: str  # normalised
    path: str  # where it was found, as a JMESPath expression


class EmailFinder:
    def __init__(self, email_paths: tuple[str, ...] = ()) -> None:
        try:
            self._paths = [(path, jmespath.compile(path)) for path in email_paths]
        except JMESPathError:
            raise ConfigurationError("EMAIL_PATHS holds an invalid JMESPath expression") from None

    def find(self, payload: Any) -> EmailMatch | None:
        return self._find_configured(payload) or find_automatically(payload)

    def _find_configured(self, payload: Any) -> EmailMatch | None:
        for path, expression in self._paths:
            try:
                found = expression.search(payload, options=_JMESPATH_OPTIONS)
            except (JMESPathError, ValueError, TypeError):
                continue  # e.g. powertools_json() over a string that is not JSON
            for candidate in found if isinstance(found, list) else [found]:
                email = normalise_email(candidate)
                if email:
                    return EmailMatch(email, path)
        return None


def find_automatically(payload: Any) -> EmailMatch | None:
    best: tuple[int, int, int, EmailMatch] | None = None
    for order, (rank, depth, path, value) in enumerate(_candidates(payload)):
        if best is not None and (rank, depth) >= best[:2]:
            continue
        email = normalise_email(value)
        if email:
            best = (rank, depth, order, EmailMatch(email, path))
    return best[3] if best else None


def _candidates(payload: Any) -> Iterator[tuple[int, int, str, Any]]:
    """(rank, depth, path, value) for every string that might be the address, breadth-first."""
    queue: list[tuple[Any, str, int]] = [(payload, "@", 0)]
    for node, path, depth in _bounded(queue):
        if isinstance(node, dict):
            yield from _field_candidates(node, path, depth)
            children = ((_key_path(path, key), key, value) for key, value in node.items())
        elif isinstance(node, list):
            children = ((f"{path}[{i}]", None, value) for i, value in enumerate(node))
        else:
            continue
        for child_path, key, value in children:
            if isinstance(value, str):
                if "@" in value:
                    yield _key_rank(key), depth, _tidy(child_path), value
                embedded = _embedded_json(value)
                if embedded is not None:
                    queue.append((embedded, f"powertools_json({_tidy(child_path)})", depth + 1))
            elif isinstance(value, dict | list) and depth < MAX_DEPTH:
                queue.append((value, child_path, depth + 1))


def _bounded(queue: list[tuple[Any, str, int]]) -> Iterator[tuple[Any, str, int]]:
    index = 0
    while index < len(queue) and index < MAX_NODES:
        yield queue[index]
        index += 1


def _field_candidates(node: dict, path: str, depth: int) -> Iterator[tuple[int, int, str, Any]]:
    """A dict that describes one form field: its value ranks by what the field says it is."""
    if _declares_email_type(node):
        rank = 0
    elif any(_email_named(node.get(key)) for key in _NAME_KEYS):
        rank = 1
    else:
        return
    for key in _VALUE_KEYS:
        value = node.get(key)
        if isinstance(value, list) and value:
            yield rank, depth, _tidy(f"{_key_path(path, key)}[0]"), value[0]
        elif isinstance(value, str):
            yield rank, depth, _tidy(_key_path(path, key)), value


def _declares_email_type(node: dict) -> bool:
    field = node.get("field")
    declared = [node.get(key) for key in _TYPE_KEYS]
    if isinstance(field, dict):
        declared.append(field.get("type"))
    return any(isinstance(t, str) and _squash(t) in _EMAIL_TYPES for t in declared)


def _email_named(name: Any) -> bool:
    return isinstance(name, str) and _squash(name) in _EMAIL_KEYS


def _key_rank(key: str | None) -> int:
    if key is None:
        return 4
    squashed = _squash(key)
    if squashed in _EMAIL_KEYS:
        return 2
    return 3 if "email" in squashed else 4


def _squash(text: str) -> str:
    """`E-mail Address` → `emailaddress`: compares names however a form tool spells them."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _embedded_json(value: str) -> Any:
    text = value.strip()
    if not text or text[0] not in "{[" or len(text) > MAX_EMBEDDED_JSON_CHARS:
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _key_path(path: str, key: str) -> str:
    name = key if _IDENTIFIER.fullmatch(key) else json.dumps(key)
    return f"{path}.{name}"


def _tidy(path: str) -> str:
    """`@.a[0].b` → `a[0].b`: the current-node marker is only needed while building."""
    if path.startswith("@."):
        return path[2:]
    if path.startswith("@["):
        return path[1:]
    return path
