"""A backfill's progress: a bar with its ETA on a terminal (tqdm), plain log lines otherwise
(a pod's log, CI), never both."""

import logging
import sys
import time
from dataclasses import dataclass
from typing import IO, Never

from tqdm import tqdm

log = logging.getLogger(__name__)

LOG_EVERY_S = 10.0


@dataclass
class Figures:
    fraction: float = 0.0  # of the whole range, 0-1
    pages: int = 0
    events: int = 0  # published
    calls: int = 0
    quota: float = 0.0  # share of the daily quota spent

    def text(self) -> str:
        return f"pages={self.pages} events={self.events} calls={self.calls} quota={self.quota:.1%}"


class Progress:
    def __init__(self, what: str, out: IO[str] = sys.stderr) -> None:
        self.what = what
        self.started = time.monotonic()
        self._last_log = 0.0
        self._bar: tqdm[Never] | None = None
        if out.isatty():
            self._bar = tqdm(total=1000, desc=what, file=out, unit="‰", leave=True)

    def eta_s(self, fraction: float) -> float | None:
        elapsed = time.monotonic() - self.started
        return elapsed / fraction - elapsed if fraction > 0 else None

    def show(self, figures: Figures) -> None:
        if self._bar is not None:
            self._bar.n = int(figures.fraction * 1000)
            self._bar.set_postfix_str(figures.text(), refresh=True)
            return
        now = time.monotonic()
        if now - self._last_log < LOG_EVERY_S and figures.fraction < 1:
            return
        self._last_log = now
        eta = self.eta_s(figures.fraction)
        log.info(
            "%s: %.0f%% %s eta=%s",
            self.what,
            figures.fraction * 100,
            figures.text(),
            "?" if eta is None else f"{eta:.0f}s",
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
