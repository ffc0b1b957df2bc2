"""Reads JSON as the strictest consumer of the output queue would: the check every message the
function sends is held to (LocalStack.receive_all applies it to the output queues).

Strict here means what a parser in any language accepts the same way: RFC 8259 only (no NaN or
Infinity), text that is valid UTF-8 (no lone surrogates, raw or escaped), unique keys.
"""

from __future__ import annotations

import json
from typing import Any


class NotStrictJson(ValueError):
    pass


def read_strict_json(text: str) -> Any:
    try:
        text.encode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except (UnicodeEncodeError, RecursionError) as exc:
        raise NotStrictJson(f"not UTF-8 text: {type(exc).__name__}") from None
    except NotStrictJson:
        raise
    except ValueError as exc:
        raise NotStrictJson(f"not JSON: {exc}") from None
    _check_strings(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise NotStrictJson("an object repeats a key")
    return dict(pairs)


def _check_strings(value: Any) -> None:
    """Escaped lone surrogates (`"\\ud800"`) parse in Python but not in every language."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise NotStrictJson("a string holds a lone surrogate") from None
