"""One row per scenario: the table ``make chaos`` prints and the JSON report it writes."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.chaos.verify import Tally


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    sent: int
    tally: Tally
    recover_s: float | None  # None: never recovered (a problem of its own)
    recover_what: str  # what "recovered" means for this scenario
    problems: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    # what the upstreams were answered other than 2xx, by status ("timeout", "no-answer");
    # None: not measured (a scenario that raised)
    errors: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.tally.lost == 0 and self.tally.duplicate_effects == 0


def result(
    scenario: str,
    sent: int,
    tally: Tally,
    recover_s: float | None,
    recover_what: str,
    problems: Sequence[str],
    details: dict[str, Any],
    errors: Mapping[str, int] | None = None,
) -> ScenarioResult:
    """A result whose problems include the table's own rules: nothing lost, no duplicate
    effect, recovered."""
    found = list(problems)
    if tally.acknowledged > tally.found:
        missing = tally.acknowledged - tally.found
        found.append(f"{missing} acknowledged event(s) not on Kafka, e.g. {tally.missing}")
    if tally.lost_effects:
        found.append(f"{tally.lost_effects} effect(s) missing against the uninterrupted run")
    if tally.duplicate_effects:
        found.append(f"{tally.duplicate_effects} duplicate effect(s) after dedup")
    if recover_s is None:
        found.append(f"never recovered ({recover_what})")
    recover = None if recover_s is None else round(recover_s, 2)
    return ScenarioResult(
        scenario,
        sent,
        tally,
        recover,
        recover_what,
        tuple(found),
        details,
        None if errors is None else dict(errors),
    )


COLUMNS = (
    ("scenario", 24),
    ("sent", 8),
    ("acked", 8),
    ("on Kafka", 8),
    ("lost", 5),
    ("dup topic", 9),
    ("dup effect", 10),
    ("upstream errors", 26),
    ("recover s", 9),
    ("ok", 3),
)


def errors_cell(errors: Mapping[str, int] | None) -> str:
    """``503:12 504:3``; ``none`` when every answer was a 2xx, ``-`` when not measured."""
    if errors is None:
        return "-"
    return " ".join(f"{status}:{n}" for status, n in errors.items()) or "none"


def _row(r: ScenarioResult) -> tuple[str, ...]:
    t = r.tally
    recover = "never" if r.recover_s is None else f"{r.recover_s:.1f}"
    return (
        r.scenario,
        f"{r.sent:,}",
        f"{t.acknowledged:,}",
        f"{t.found:,}",
        str(t.lost),
        str(t.duplicates_on_topic),
        str(t.duplicate_effects),
        errors_cell(r.errors),
        recover,
        "yes" if r.ok else "NO",
    )


def table(results: Sequence[ScenarioResult]) -> str:
    def line(cells: Sequence[str]) -> str:
        first = f"{cells[0]:<{COLUMNS[0][1]}}"
        return " ".join(
            [first, *(f"{c:>{w}}" for c, (_, w) in zip(cells[1:], COLUMNS[1:], strict=True))]
        )

    rows = [line([name for name, _ in COLUMNS])]
    rows += [line(_row(r)) for r in results]
    for r in results:
        rows.append(f"  {r.scenario}: recover = {r.recover_what}")
        rows += [f"  {r.scenario}: PROBLEM {p}" for p in r.problems]
    return "\n".join(rows)


def to_json(r: ScenarioResult) -> dict[str, Any]:
    doc = asdict(r)
    doc["tally"]["lost"] = r.tally.lost
    doc["ok"] = r.ok
    return doc


def write_report(path: Path, results: Sequence[ScenarioResult], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {**meta, "ok": all(r.ok for r in results), "scenarios": [to_json(r) for r in results]}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", "utf-8")
