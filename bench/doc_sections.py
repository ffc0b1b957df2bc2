"""The sections of a Markdown file (docs/benchmarks.md) that each bench script writes for itself,
between its own two marker comments (`<!-- bench.limits -->` ... `<!-- /bench.limits -->`): found,
replaced or appended, the rest of the file left as it is."""

from __future__ import annotations

from pathlib import Path


def find_section(text: str, start: str, end: str) -> tuple[int, int] | None:
    """Where the section runs in `text`, both markers included; None when it has none."""
    first = text.find(start)
    last = text.find(end, first + len(start)) if first >= 0 else -1
    return (first, last + len(end)) if last >= 0 else None


def replace_section(text: str, section: str, start: str, end: str) -> str:
    """`text` with its section in place of the old one (`section` carries the markers), or with
    it appended when there was none."""
    where = find_section(text, start, end)
    if where is None:
        return text.rstrip("\n") + "\n\n" + section + "\n"
    return text[: where[0]] + section + text[where[1] :]


def write_section(path: Path, section: str, start: str, end: str) -> None:
    current = path.read_text() if path.exists() else ""
    path.write_text(replace_section(current, section, start, end))
