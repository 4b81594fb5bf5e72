"""Just enough Markdown reading for the docs tests: sections by heading, table cells, code spans.

The tests ask "does the page document X where a reader would look for it", so they read the
first cell of table rows under a given heading rather than searching the whole text, where a
name can appear in passing without being documented.
"""

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Section:
    page: str
    heading: str
    lines: tuple[str, ...]


def sections(page: Path) -> list[Section]:
    """Every heading of ``page`` with the lines up to the next heading (fenced code skipped)."""
    out: list[Section] = []
    heading, fenced = "", False
    lines: list[str] = []
    for line in page.read_text("utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            out.append(Section(page.name, heading, tuple(lines)))
            heading, lines = match.group(2), []
        else:
            lines.append(line)
    out.append(Section(page.name, heading, tuple(lines)))
    return out


def all_sections() -> list[Section]:
    return [s for page in sorted(DOCS.glob("*.md")) for s in sections(page)]


def section(heading: str, page: str | None = None) -> Section:
    """The one section whose heading is exactly ``heading`` (on ``page``, if given)."""
    found = [s for s in all_sections() if s.heading == heading and (page is None or s.page == page)]
    assert len(found) == 1, f"expected one heading {heading!r} in docs/, found {len(found)}"
    return found[0]


_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def table_rows(sec: Section) -> list[list[str]]:
    """The cells of every table body row of the section (header and separator rows left out)."""
    lines = [line.strip() for line in sec.lines]
    rows: list[list[str]] = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or _SEPARATOR.match(line):
            continue
        if i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]):
            continue  # a header row
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def column(sec: Section, index: int) -> set[str]:
    """The code spans in one column of the section's tables."""
    return {
        name for row in table_rows(sec) if len(row) > index for name in _CODE.findall(row[index])
    }


def first_cells(sec: Section) -> set[str]:
    """The code spans in the first cell of every table row of the section."""
    return column(sec, 0)


def code_spans(text: str) -> set[str]:
    return set(_CODE.findall(text))


def headings(page: str) -> set[str]:
    return {s.heading for s in sections(DOCS / page)}
