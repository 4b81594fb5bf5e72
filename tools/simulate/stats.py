"""What the simulator did: counters per path, the acknowledged-id log, progress and summary."""

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from tools.simulate.events import SimEvent


@dataclass
class PathStats:
    generated: int = 0
    attempts: int = 0  # HTTP requests, retries included
    retries: int = 0  # attempts that were retries (or re-enable attempts)
    acked_deliveries: int = 0
    acked_events: int = 0
    dropped_events: int = 0  # answered with a status the upstream does not retry
    expired_events: int = 0  # past the retention (push) or the retry window (Adobe)
    duplicates: int = 0  # acknowledged events queued again to be delivered twice
    malformed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def record(self, status: int | None) -> None:
        self.statuses["timeout" if status is None else str(status)] += 1


class AckLog:
    """One JSON line per event acknowledged with a 2xx: its envelope id and where it must land."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.lines = 0

    def open(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("wb")

    def write(self, via: str, events: Iterable[SimEvent], duplicate: set[str]) -> None:
        if self._file is None:
            return
        out = []
        for e in events:
            doc: dict[str, Any] = {"id": e.id, "topic": e.topic, "via": via, "tenant": e.tenant}
            if e.reason:
                doc["reason"] = e.reason
            if e.id in duplicate:
                doc["duplicate"] = True
            out.append(orjson.dumps(doc))
        self._file.write(b"\n".join(out) + b"\n")
        self.lines += len(out)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class Progress:
    """Live counters: one line per interval (carriage return on a terminal)."""

    paths: dict[str, PathStats]
    out: IO[str]
    started: float = field(default_factory=time.monotonic)
    _last: tuple[float, int] = (0.0, 0)

    def line(self, paused: int, subscriptions: int) -> str:
        now = time.monotonic() - self.started
        acked = sum(p.acked_events for p in self.paths.values())
        last_t, last_acked = self._last
        rate = (acked - last_acked) / (now - last_t) if now > last_t else 0.0
        self._last = (now, acked)
        parts = [f"t={now:6.1f}s"]
        for name, p in self.paths.items():
            parts.append(
                f"{name}: sent={p.generated} acked={p.acked_events} retried={p.retries} "
                f"dropped={p.dropped_events + p.expired_events}"
            )
        parts.append(f"paused={paused}/{subscriptions} rate={rate:,.0f} ev/s")
        return " | ".join(parts)

    def show(self, paused: int, subscriptions: int) -> None:
        text = self.line(paused, subscriptions)
        if self.out.isatty():
            self.out.write("\r" + text + "\x1b[K")
        else:
            self.out.write(text + "\n")
        self.out.flush()


def summary(paths: dict[str, PathStats], elapsed_s: float, extra: dict[str, Any]) -> str:
    rows = [f"simulation summary after {elapsed_s:.1f} s"]
    header = ("path", "generated", "acked", "deliveries", "attempts", "retries", "dropped")
    rows.append("  " + " ".join(f"{h:>12}" for h in header))
    for name, p in paths.items():
        values = (
            p.generated,
            p.acked_events,
            p.acked_deliveries,
            p.attempts,
            p.retries,
            p.dropped_events + p.expired_events,
        )
        rows.append(f"  {name:>12} " + " ".join(f"{v:>12,}" for v in values))
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(p.statuses.items()))
        rows.append(f"  {'':>12} statuses {statuses or '-'}")
        rows.append(
            f"  {'':>12} duplicates {p.duplicates}, malformed {p.malformed}, "
            f"acked events/s {p.acked_events / elapsed_s if elapsed_s else 0:,.0f}"
        )
    rows += [f"  {k}: {v}" for k, v in extra.items()]
    return "\n".join(rows)


def to_json(paths: dict[str, PathStats]) -> dict[str, Any]:
    return {
        name: {k: (dict(v) if isinstance(v, Counter) else v) for k, v in vars(p).items()}
        for name, p in paths.items()
    }
