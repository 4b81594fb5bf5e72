"""The fuzz run's fixture and its report: the outcome table is printed at the end of the session,
pass or fail."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.harness import Harness
from tests.fuzz.settings import KEEP_GOING

SUMMARIES: list[str] = []


@pytest.fixture
def fuzz_harness(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(kafka_bootstrap, tmp_path, keep_going=KEEP_GOING)
    try:
        yield harness
    finally:
        if not harness.finished:  # the test failed before finish()
            harness.finish()
        SUMMARIES.append(harness.summary())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for summary in SUMMARIES:
        terminalreporter.section("fuzz: requests by outcome")
        terminalreporter.write_line(summary)
