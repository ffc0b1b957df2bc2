"""Every relative link in the project's Markdown resolves: to a file that exists, and to a
heading that exists in it when the link names one (GitHub's anchor rules)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(
    path
    for pattern in ("*.md", "docs/**/*.md", "events/*.md")
    for path in ROOT.glob(pattern)
    if ".venv" not in path.parts
)
# [text](target) outside code spans and fences; images too.
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower-cased, punctuation but - and _ dropped, spaces to -."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} (.+?)\s*$", _FENCE.sub("", markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links(markdown: str) -> list[str]:
    prose = _CODE.sub("", _FENCE.sub("", markdown))
    return [target for target in _LINK.findall(prose) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    text = page.read_text()
    broken = []
    for target in links(text):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_the_link_check_catches_a_broken_link(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## A heading\n\n[ok](#a-heading) [bad](#nowhere) [gone](gone.md)\n")
    text = page.read_text()
    assert anchors(text) == {"title", "a-heading"}
    assert links(text) == ["#a-heading", "#nowhere", "gone.md"]
