"""The results table of ``docs/performance.md``, regenerated from a ``datastreams bench`` report.

``make bench`` runs ``python -m tools.bench.doc_table var/bench/bench.json docs/performance.md``
after the benchmark: the text between the two marker comments is replaced by a Markdown table
built from the report's ``summary`` and ceilings, so the docs never carry figures that no report
produced. Rows and columns are data (``rows``, ``COLUMNS``): a bench that measures something new
adds a key to a row and a ``Column`` here, nothing else.
"""

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tools.bench import profile

START = "<!-- bench-table:start -->"
END = "<!-- bench-table:end -->"
# Where the ingress' time went for each ratio the run missed, from its py-spy profiles.
PROFILE_START = "<!-- bench-profile:start -->"
PROFILE_END = "<!-- bench-profile:end -->"
MISSING = "—"

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    header: str
    render: Callable[[Row], str]
    align_right: bool = True


def _number(key: str, spec: str) -> Callable[[Row], str]:
    def render(row: Row) -> str:
        value = row.get(key)
        return MISSING if value is None else format(value, spec)

    return render


def _pair(first: str, second: str, spec: str) -> Callable[[Row], str]:
    def render(row: Row) -> str:
        a, b = row.get(first), row.get(second)
        if a is None or b is None:
            return MISSING
        return f"{format(a, spec)} / {format(b, spec)}"

    return render


COLUMNS: tuple[Column, ...] = (
    Column("measured", lambda row: str(row["what"]), align_right=False),
    Column("events/CPU-s", _number("events_per_cpu_s", ",.0f")),
    Column("requests/CPU-s", _number("requests_per_cpu_s", ",.0f")),
    Column("÷ peer per CPU-s (goal)", lambda row: str(row.get("ratio") or MISSING)),
    Column("events/s", _number("events_per_s", ",.0f")),
    Column("deliveries/s", _number("deliveries_per_s", ",.0f")),
    Column("p50 / p99 ms at half load", _pair("p50_ms", "p99_ms", ".0f")),
    Column("÷ ceiling B", _number("vs_ceiling_b", ".2f")),
    Column("CPU per record ÷ bare consumer (≤ 2.0)", _number("cpu_vs_consumer", ".2f")),
    Column("5x load: shed", _number("shed_fraction", ".0%")),
    Column("5x load: p99 s", _number("overload_p99_s", ".1f")),
    Column("5x load: peak RSS MB", _number("overload_rss_mb", ".0f")),
)


def rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per ceiling, per system and shape under closed-loop load (per CPU-second), per
    ingress delivery shape under open-loop load and per worker kind."""
    out: list[dict[str, Any]] = []
    for key, what in (
        ("ceiling_a", "ceiling A: Kafka's ProducerPerformance, acks=all (whole JVM)"),
        ("ceiling_b", "ceiling B: raw aiokafka batch path"),
    ):
        ceiling = report.get(key)
        if ceiling:
            out.append(
                {
                    "what": what,
                    "events_per_s": ceiling["records_per_s"],
                    "events_per_cpu_s": ceiling.get("records_per_cpu_s"),
                }
            )
    summary = report.get("summary", {})
    out += closed_rows(summary)
    for shape in summary.get("shapes", {}).values():
        over = shape.get("overload") or {}
        p99_ms = over.get("service_p99_ms")
        out.append(
            {
                "what": f"ingress, open loop: {shape['label']}",
                "events_per_s": shape["max_events_per_s"],
                "deliveries_per_s": shape["max_deliveries_per_s"],
                "p50_ms": shape.get("p50_at_half_ms"),
                "p99_ms": shape.get("p99_at_half_ms"),
                "vs_ceiling_b": shape.get("vs_ceiling_b"),
                "shed_fraction": over.get("shed_fraction"),
                "overload_p99_s": None if p99_ms is None else p99_ms / 1000,
                "overload_rss_mb": over.get("rss_max_mb"),
            }
        )
    runs = report.get("workers", [])
    for kind, worker in summary.get("workers", {}).items():
        count = sum(1 for run in runs if run.get("kind") == kind)
        median = f", median of {count} runs" if count > 1 else ""
        out.append(
            {
                "what": f"{kind} worker: one process{median}",
                "events_per_s": worker["events_per_s"],
                "cpu_vs_consumer": worker.get("cpu_vs_consumer"),
            }
        )
    return out


def closed_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    ratios = summary.get("ratios", {})
    out = []
    for run in summary.get("per_cpu", []):
        goal = ratios.get(run["shape"]) if run["target"] == "ingress" else None
        ratio = None
        if goal and goal.get("ratio") is not None:
            mark = "met" if goal["met"] else "missed"
            ratio = f"{goal['ratio']:.2f} x {goal['peer']} (≥ {goal['goal']:.1f}: {mark})"
        out.append(
            {
                "what": f"{run['target']}, closed loop: {run['shape']}",
                "events_per_cpu_s": run["events_per_cpu_s"],
                "requests_per_cpu_s": run["requests_per_cpu_s"],
                "ratio": ratio,
                "events_per_s": run["events_per_s"],
                "deliveries_per_s": run["requests_per_s"],
            }
        )
    return out


def table(report: Mapping[str, Any], columns: Sequence[Column] = COLUMNS) -> str:
    lines = [
        "| " + " | ".join(c.header for c in columns) + " |",
        "|" + "|".join("---:" if c.align_right else "---" for c in columns) + "|",
    ]
    lines += ["| " + " | ".join(c.render(row) for c in columns) + " |" for row in rows(report)]
    envelope = report.get("envelope_bytes")
    if envelope:
        lines += ["", f"Envelopes of about {envelope:,.0f} bytes; {report.get('cores')} cores."]
    return "\n".join(lines)


def replace_between_markers(text: str, content: str, start: str = START, end: str = END) -> str:
    """``text`` with everything between the markers replaced; exactly one pair must exist."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"expected one {start} … {end} pair")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{content}\n{end}{tail}"


def profile_list(report: Mapping[str, Any]) -> str:
    """A Markdown list: for each ingress ratio the run missed, its profile's self-time leaders."""
    ratios = report.get("summary", {}).get("ratios", {})
    missed = profile.missed_goal_profiles(ratios, report.get("profiles") or {})
    if not missed:
        return "Every ingress ratio was met in this run."
    return "\n".join(f"* **{head}**: {where}" for head, where in missed)


def update(report_path: Path, doc_path: Path) -> None:
    report = orjson.loads(report_path.read_bytes())
    if report.get("smoke"):
        raise ValueError(f"{report_path} is a smoke run: its figures are not meaningful")
    text = replace_between_markers(doc_path.read_text("utf-8"), table(report))
    text = replace_between_markers(text, profile_list(report), PROFILE_START, PROFILE_END)
    doc_path.write_text(text)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tools.bench.doc_table REPORT.json DOC.md", file=sys.stderr)
        return 2
    try:
        update(Path(argv[0]), Path(argv[1]))
    except (OSError, ValueError, KeyError) as exc:
        print(f"doc_table: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
