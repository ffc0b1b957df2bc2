"""JSON as the function reads and writes it: only what every strict parser, in any language, reads
back the same way.

The policy, one class of input at a time (README, Security: "What a submission may hold"):

- `NaN`, `Infinity`, `-Infinity` and numbers beyond a double's range (`1e400`) are refused:
  consumers could not read them, and no value a form produces is one of them.
- Lone surrogates (`"\\ud800"` — legal JSON syntax, but no character) are refused, like the invalid
  UTF-8 they stand for: kept, they would make messages that strict parsers (Rust's serde_json,
  .NET's System.Text.Json) reject and that cannot be written out as UTF-8; replaced, the
  submission would be changed without a word. The sender hears why.
- Nesting deeper than MAX_JSON_DEPTH is refused; anything that is not a JSON value (a direct invoke
  from Python may pass one) is refused.
- Everything else is kept as it is: `\\u0000` and other controls, U+FFFE/U+FFFF, tiny numbers (read
  as doubles, as every consumer will), big integers, and duplicate keys (the last one wins, as in
  JavaScript's JSON.parse).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from checks.check_failures import BodyRejected

# Deeper JSON than this is no form submission, and would cost recursion later (logging, SQS).
MAX_JSON_DEPTH = 64
# In a Python str that came from JSON, a surrogate is always a lone one: json pairs them up.
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NumberOutOfRange(ValueError):
    pass


def loads(text: bytes | str) -> Any:
    """Parses JSON text by the policy above; raises BodyRejected for what it refuses."""
    try:
        if isinstance(text, bytes):
            # Strictly: json.loads would let UTF-8-encoded surrogates (ED A0 80) through.
            text = text.decode(json.detect_encoding(text))
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NumberOutOfRange:
        raise BodyRejected(
            "the JSON holds a number beyond the range of a double (±1.8e308)"
        ) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError and NaN literals included
        raise BodyRejected("the body is not valid JSON") from None
    return accepted(value)


def accepted(value: Any) -> Any:
    """An already parsed value (an EventBridge `detail`, a direct invoke), held to the policy."""
    if _check(value):
        raise BodyRejected(
            "the JSON holds a lone surrogate (an escape from \\ud800 to \\udfff that is not "
            "half of a pair): it is not a character",
        )
    return value


def dumps(value: Any) -> str:
    """Compact JSON; raises ValueError rather than write NaN or Infinity."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _check(value: Any) -> bool:
    """Walks without recursion (the depth is not known yet); True if it holds a lone surrogate."""
    has_surrogate = False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            has_surrogate = has_surrogate or _SURROGATE.search(node) is not None
        elif isinstance(node, bool | int | None):
            continue
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise BodyRejected("NaN and Infinity are not JSON numbers")
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BodyRejected(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(node, dict):
                for key in node:
                    if not isinstance(key, str):
                        raise BodyRejected("the event is not a JSON value")
                    has_surrogate = has_surrogate or _SURROGATE.search(key) is not None
                stack.extend((child, depth + 1) for child in node.values())
            else:
                stack.extend((child, depth + 1) for child in node)
        else:
            raise BodyRejected("the event is not a JSON value")
    return has_surrogate


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; consumers would not


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _NumberOutOfRange(text)
    return number
