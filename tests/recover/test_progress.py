"""The backfill's progress: a bar with its ETA on a terminal, plain log lines otherwise."""

import io
import logging

import pytest

from ingest.recover.progress import Figures, Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar(caplog: pytest.LogCaptureFixture) -> None:
    out = Terminal()
    progress = Progress("backfill 123-ABC-456", out)
    progress.show(Figures(0.25, pages=3, events=900, calls=5, quota=0.01))
    progress.close()
    shown = out.getvalue()
    assert "backfill 123-ABC-456" in shown
    assert "25%" in shown or "250/1000" in shown
    assert "pages=3 events=900 calls=5 quota=1.0%" in shown
    assert not caplog.records


def test_elsewhere_it_logs_lines(caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    caplog.set_level(logging.INFO)
    progress = Progress("backfill 123-ABC-456", out)
    progress.show(Figures(0.5, pages=2, events=10, calls=3, quota=0.2))
    progress.show(Figures(0.6, pages=3))  # within 10 s of the last line: not logged
    progress.show(Figures(1.0, pages=4, events=20, calls=5, quota=0.3))  # the end always is
    progress.close()
    assert out.getvalue() == ""
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("backfill 123-ABC-456: 50% pages=2 events=10 calls=3 quota=20.0%")
    assert "eta=" in lines[0]
