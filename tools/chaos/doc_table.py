"""The measured figures of docs/deploying.md "Behind a load balancer", from a chaos report.

``make chaos-lb`` (and ``make chaos``) run ``python -m tools.chaos.doc_table REPORT.json DOC.md``
after a passing full-size run: the text between the two marker comments becomes a Markdown table
of the load-balancer rows, so the page never quotes figures no run produced. A short run, or a
report with a row that is not ok, is refused.
"""

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from tools.chaos.report import errors_cell

START = "<!-- chaos-lb-table:start -->"
END = "<!-- chaos-lb-table:end -->"
FAMILY = "LB "  # the scenario names of tools/chaos/scenarios/balancer
HEADER = (
    "| scenario | sent | acked | on Kafka | lost | dup topic | dup effect "
    "| upstreams saw (not 2xx) | slowest answer s | out of the balancer after s | recover s |"
)
COLUMNS = 11


def marked_down_s(details: Mapping[str, Any]) -> float | None:
    """How soon the balancer took the replica(s) out: the slowest step of a rollout, the one
    replica of a kill or a hang, every replica when the broker went away."""
    steps = [step["marked_down_s"] for step in details.get("steps", ())]
    if steps:
        return None if None in steps else max(steps)
    found = details.get("marked_down_s", details.get("all_down_after_s"))
    return None if found is None else float(found)


def _row(doc: Mapping[str, Any]) -> str:
    t, details = doc["tally"], doc["details"]
    recover = "never" if doc["recover_s"] is None else f"{doc['recover_s']:.1f}"
    down = marked_down_s(details)
    cells = [
        doc["scenario"].removeprefix(FAMILY),
        f"{doc['sent']:,}",
        f"{t['acknowledged']:,}",
        f"{t['found']:,}",
        str(t["lost"]),
        str(t["duplicates_on_topic"]),
        str(t["duplicate_effects"]),
        errors_cell(doc.get("errors")),
        f"{details.get('slowest_answer_s', 0):.1f}",
        "-" if down is None else f"{down:.1f}",
        recover,
    ]
    return "| " + " | ".join(cells) + " |"


def table(report: Mapping[str, Any]) -> str:
    rows = [doc for doc in report["scenarios"] if doc["scenario"].startswith(FAMILY)]
    if not rows:
        raise ValueError("the report has no load-balancer row")
    lines = [HEADER, "|---" + "|---:" * (COLUMNS - 1) + "|", *(_row(doc) for doc in rows)]
    load, cores = (report.get("load_average") or [0.0])[0], report.get("cores")
    lines += ["", f"A full-size run on {cores} shared cores, load average {load:.1f} at its end."]
    return "\n".join(lines)


def between_markers(text: str, content: str, start: str = START, end: str = END) -> str:
    """``text`` with what lies between ``start`` and ``end`` replaced; exactly one pair."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"expected one {start} ... {end} pair")
    head, rest = text.split(start)
    return f"{head}{start}\n{content}\n{end}{rest.split(end)[1]}"


def update(report_path: Path, doc_path: Path) -> None:
    report = orjson.loads(report_path.read_bytes())
    if report.get("settings") != "full":
        raise ValueError(f"{report_path} is not a full-size run: its figures are not the docs'")
    if not report.get("ok"):
        raise ValueError(f"{report_path} has rows that are not ok: fix them first")
    doc_path.write_text(between_markers(doc_path.read_text("utf-8"), table(report)), "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.chaos.doc_table", description=__doc__)
    parser.add_argument("report", type=Path, help="chaos.json of a full-size run")
    parser.add_argument("doc", type=Path, help="the page with the marker comments")
    args = parser.parse_args(argv)
    try:
        update(args.report, args.doc)
    except (OSError, ValueError, KeyError) as exc:
        print(f"doc_table: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
