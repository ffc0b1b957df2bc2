"""Event files (events/*.json or a captured Lambda event): found and read with a clear error
instead of a traceback, for `make invoke`, `make send` and `make demo`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
EXAMPLE = "events/http-api-typeform.json"


class EventFileError(Exception):
    """The file is missing or is not a JSON event; the message says which and what to do."""


def resolve(name: str) -> Path:
    """The file as given (`.json` may be left out), else the sample of that name in events/:
    `http-api-tally` is enough."""
    given = Path(name)
    candidates = [given, Path(f"{name}.json")]
    if not given.is_absolute() and given.parent == Path():
        candidates += [EVENTS_DIR / name, EVENTS_DIR / f"{name}.json"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if given.is_dir():
        raise EventFileError(f"{name} is a folder; give one event file, e.g. {EXAMPLE}")
    raise EventFileError(f"{name}: no such file. The samples are:\n{sample_list()}")


def load(name: str) -> tuple[Path, Any]:
    path = resolve(name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EventFileError(f"{path}: cannot be read ({exc})") from None
    try:
        return path, json.loads(text)
    except ValueError as exc:
        raise EventFileError(f"{path} is not valid JSON: {exc}") from None


def shown(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def samples() -> list[Path]:
    return sorted(EVENTS_DIR.glob("*.json"))


def sample_list() -> str:
    return "\n".join(f"  events/{path.name}" for path in samples())


def command_parser(command: str, doc: str | None) -> argparse.ArgumentParser:
    """The parser of a command that takes an event file (`make <command> EVENT=<file>`)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m local.commands.{command}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("event", nargs="?", help=f"an event file, e.g. {EXAMPLE}")
    return parser


def no_event_file(command: str) -> int:
    """Says how to name an event file and lists the samples; returns the usage mistake's 2."""
    print(
        f"usage: make {command} EVENT=<event file>  (or python -m local.commands.{command} <file>)"
        f"\nthe samples are:\n{sample_list()}",
        file=sys.stderr,
    )
    return 2
