"""The README stays a front page, and the pages stay free of dated notes and outside citations.

MkDocs (``make docs``, strict) checks the links between pages; the README is outside its tree,
so its links are checked here.
"""

import re
from pathlib import Path

import pytest

from tests.docs.markdown import DOCS, REPO_ROOT

README = REPO_ROOT / "README.md"
README_MAX_BYTES = 12 * 1024
PAGES = [README, REPO_ROOT / "deploy" / "README.md", REPO_ROOT / "tools" / "README.md"]
PAGES += sorted(DOCS.glob("*.md"))
PAGES += sorted(DOCS.glob("*.yaml"))

_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE = re.compile(r"`[^`]*`")
# A calendar date or a clock time in prose: the marks of a lab notebook ("the run of 11:01").
_DATED = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b")


def prose(path: Path) -> list[tuple[int, str]]:
    """The lines outside fenced code, with inline code removed (examples may carry dates)."""
    out, fenced = [], False
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            out.append((number, _CODE.sub("", line)))
    return out


def test_the_readme_is_a_front_page() -> None:
    text = README.read_text("utf-8")
    assert len(text.encode()) <= README_MAX_BYTES
    assert "make run" in text
    assert "make test" in text


def test_the_readme_links_resolve() -> None:
    text = README.read_text("utf-8")
    targets = [t for t in _LINK.findall(text) if "://" not in t]
    assert targets, "the README links to no page"
    missing = [t for t in targets if not (REPO_ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_page_cites_anything_outside_the_repository(page: Path) -> None:
    text = page.read_text("utf-8")
    # Spelled in pieces, so that this file does not itself look like such a citation.
    for outside in (".." + "/shared", "/work" + "/shared", "PROTOCOL" + ".md"):
        assert outside not in text, f"{page.name} cites {outside}"


@pytest.mark.parametrize("page", [p for p in PAGES if p.suffix == ".md"], ids=lambda p: p.name)
def test_no_page_carries_dated_notes(page: Path) -> None:
    dated = [f"{n}: {line.strip()}" for n, line in prose(page) if _DATED.search(line)]
    assert not dated, f"{page.name} has dated prose (history belongs in git): {dated}"


def test_the_dated_note_check_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Run of 2026-11-29 11:01 UTC.\n\n```\n2026-03-05T11:00:02Z\n```\n")
    assert [n for n, line in prose(page) if _DATED.search(line)] == [1]
