"""The bench scripts' sections of docs/benchmarks.md (bench/doc_sections.py): each script's
section is replaced in place or appended, and nothing else in the file moves."""

from __future__ import annotations

from pathlib import Path

from bench import fleet_report, limits, outage
from bench.doc_sections import find_section, replace_section, write_section
from bench.report import kept_sections

PAGE = (Path(__file__).parents[2] / "docs" / "benchmarks.md").read_text()
MARKERS = [
    (limits.START, limits.END),
    (outage.START, outage.END),
    (fleet_report.SECTION_START, fleet_report.SECTION_END),
]


def test_each_section_written_again_as_it_is_leaves_the_page_as_it_was():
    for start, end in MARKERS:
        where = find_section(PAGE, start, end)
        assert where is not None, start
        assert replace_section(PAGE, PAGE[where[0] : where[1]], start, end) == PAGE


def test_a_new_section_replaces_only_its_own():
    new = f"{limits.START}\n## Limits\n\nnew figures\n{limits.END}"
    updated = replace_section(PAGE, new, limits.START, limits.END)
    first, last = find_section(PAGE, limits.START, limits.END)
    assert updated == PAGE[:first] + new + PAGE[last:]
    assert updated.count(limits.START) == 1


def test_a_page_without_the_section_gets_it_at_its_end(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\ntext\n\n")
    write_section(page, f"{outage.START}\nfigures\n{outage.END}", outage.START, outage.END)
    assert page.read_text() == f"# Benchmarks\n\ntext\n\n{outage.START}\nfigures\n{outage.END}\n"
    assert find_section("an end marker first " + outage.END, outage.START, outage.END) is None


def test_make_bench_keeps_the_sections_other_scripts_wrote(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text(PAGE)
    kept = kept_sections(page)
    for start, end in MARKERS[:2]:
        first, last = find_section(PAGE, start, end)
        assert f"\n{PAGE[first:last]}\n" in kept
    assert fleet_report.SECTION_START not in kept  # make bench writes the fleet's itself
