"""What the libraries log is redacted before any handler sees it.

Lambda's runtime puts a handler on the root logger, at the level of AWS_LAMBDA_LOG_LEVEL (the
template's ApplicationLogLevel; TRACE is DEBUG there: awslambdaric's bootstrap, _setup_logging),
so every library's records reach CloudWatch:

- urllib3 logs request URLs (INFO: the retry warning; DEBUG: every request), and Minimo's path
  holds the address;
- botocore at DEBUG logs each request's parameters (SendMessageBatch: the events themselves),
  each answer's body (GetSecretValue: the API keys and webhook secrets) and what it signs;
- the X-Ray SDK at DEBUG logs every trace document it sends; Powertools logs keys and values.

A log record factory (logging.setLogRecordFactory, so it sees every record, whichever logger
and handler) rewrites each library record as it is made: request and answer bodies become their
size, signing material and credentials go, and in what is left every address (raw or
percent-encoded) and every key or secret this function has read becomes a placeholder. The
function's own logger is left alone (its lines are written to carry nothing of the kind), but
for exceptions. The lines stay useful: which call, which URL's host and route, which status,
how many bytes, which retry.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

ADDRESS = "<address>"
SECRET = "<secret>"  # noqa: S105 - the placeholder for one
# An address as it appears in a log line: raw, percent-encoded once or twice (a URL inside a
# URL), or JSON-escaped. The local part leaves out what delimits it in URLs and reprs (/ ? = &
# and quotes; encoded, as in Minimo's path, they are %XX and so inside it).
_ADDRESS = re.compile(
    r"[\w.!#$%*+^`{|}~-]+(?:@|%40|%2540|\\u0040)[\w%-]+(?:\.[\w%-]+)*", re.IGNORECASE
)
# Credentials in headers, query strings and signing strings, in any of the ways botocore and
# urllib3 print them (a dict's repr, `Name: value` lines, `name=value` pairs).
_CREDENTIAL = re.compile(
    r"(?i)(authorization|x-amz-security-token|x-amz-signature|x-amz-credential|"
    r"security-token|credential|signature|x-api-key|api[_-]?key|cookie|token)"
    r"(['\"]?\s*[:=]\s*b?['\"]?)(bearer\s+|aws4-hmac-sha256\s+)?[^'\",\s}&;]+"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[^\s'\",}]+")
_AWS_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# Messages whose arguments are payloads or signing material, by logger and message: what each
# argument becomes. None keeps an argument (it is still scrubbed); a function replaces it.
_Rule = tuple[Callable[[Any], str] | None, ...]


def _size(value: Any) -> str:
    return f"<{len(value) if isinstance(value, str | bytes | bytearray) else '?'} bytes>"


def _gone(_: Any) -> str:
    return "<redacted>"


def _request_params(params: Any) -> str:
    """botocore's request dict: where it goes and how big it is, not what it carries."""
    if not isinstance(params, Mapping):
        return _gone(params)
    kept = {key: params.get(key) for key in ("url_path", "method") if key in params}
    return f"{kept} body {_size(params.get('body') or b'')}"


_RULES: dict[tuple[str, str], _Rule] = {
    ("botocore.endpoint", "Making request for %s with params: %s"): (None, _request_params),
    ("botocore.endpoint", "Sending http request: %s"): (_gone,),
    ("botocore.parsers", "Response body:\n%r"): (_size,),
    ("botocore.auth", "CanonicalRequest:\n%s"): (_gone,),
    ("botocore.auth", "StringToSign:\n%s"): (_gone,),
    ("botocore.auth", "String to sign: %s"): (_gone,),
    ("botocore.auth", "Signature:\n%s"): (_gone,),
}
# Messages formatted before they were logged: (logger prefix, message prefix) → kept prefix.
_PREFORMATTED = {("aws_xray_sdk", "sending: "): "sending a trace document"}

_secrets: frozenset[str] = frozenset()
_secret_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()
# Shorter values are no secret worth the name, and would blank out ordinary words.
MIN_SECRET_LENGTH = 8


def remember_secrets(values: Iterable[str | None]) -> None:
    """Keys and secrets this function holds: wherever a library prints one, it is replaced."""
    global _secrets, _secret_pattern
    new = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH} - _secrets
    if not new:
        return
    with _lock:
        _secrets = _secrets | new
        longest_first = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(s) for s in longest_first))


def scrub(text: str) -> str:
    """Addresses, known secrets and credentials in `text`, replaced."""
    if _secret_pattern is not None:
        text = _secret_pattern.sub(SECRET, text)
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{SECRET}", text)
    text = _BEARER.sub(f"Bearer {SECRET}", text)
    text = _AWS_ACCESS_KEY_ID.sub(SECRET, text)
    return _ADDRESS.sub(ADDRESS, text)


def install(own_logger: str) -> None:
    """Makes every record pass through the redaction (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            redact(record, own=record.name == own_logger)
        except Exception:  # a record that cannot be read safely is not shown at all
            record.msg, record.args, record.exc_info = "<log record redacted>", None, None
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def redact(record: logging.LogRecord, *, own: bool) -> None:
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_info = _redacted_exc_info(record.exc_info)
    if own:
        return
    msg = record.msg if isinstance(record.msg, str) else str(record.msg)
    for (prefix, start), kept in _PREFORMATTED.items():
        if record.name.startswith(prefix) and msg.startswith(start):
            record.msg, record.args = f"{kept} ({_size(msg)})", None
            return
    rule = _RULES.get((record.name, msg), ())
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    if record.args is None:
        args = ()
    shown = tuple(_shown(arg, rule[i] if i < len(rule) else None) for i, arg in enumerate(args))
    try:
        text = msg % shown if shown else msg
    except (TypeError, ValueError):
        text = " ".join([msg, *shown])
    record.msg, record.args = scrub(text), None


def _shown(arg: Any, replace: Callable[[Any], str] | None) -> str:
    if replace is not None:
        return replace(arg)
    if isinstance(arg, bytes | bytearray):  # a body, a payload: its size says enough
        return _size(arg)
    return str(arg)


_STAND_INS: dict[str, type[Exception]] = {}


def _redacted_exc_info(exc_info: Any) -> tuple[type[BaseException], BaseException, Any]:
    """The same exception type and traceback (code lines only), its message scrubbed; what it
    was raised from is dropped, as its message could hold anything."""
    kind, value, tb = exc_info
    name = f"{kind.__module__}.{kind.__qualname__}"
    stand_in = _STAND_INS.get(name)
    if stand_in is None:  # printed as the original: same module and name
        made = type(kind.__name__, (Exception,), {"__module__": kind.__module__})
        made.__qualname__ = kind.__qualname__
        stand_in = _STAND_INS.setdefault(name, made)
    message = scrub("".join(traceback.format_exception_only(kind, value)).strip())
    return kind, stand_in(message), tb
