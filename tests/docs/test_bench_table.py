"""``tools/bench/doc_table.py``: a bench report becomes the results table of the performance page.

No broker: the report is a dict shaped as ``tools.bench.report.to_json`` writes it.
"""

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.docs.markdown import DOCS
from tools.bench import doc_table
from tools.bench.doc_table import END, PROFILE_END, PROFILE_START, START

REPORT: dict[str, Any] = {
    "smoke": False,
    "cores": 2,
    "envelope_bytes": 913.6,
    "ceiling_a": {"records_per_s": 94612.4, "records_per_cpu_s": 61234.5},
    "ceiling_b": {"records_per_s": 132801.0, "records_per_cpu_s": 125000.0},
    "summary": {
        "per_cpu": [
            {
                "target": "ingress",
                "shape": "direct-push",
                "events_per_cpu_s": 90000.4,
                "requests_per_cpu_s": 180.0,
                "events_per_s": 45000.0,
                "requests_per_s": 90.0,
            },
            {
                "target": "kafka-hooks",
                "shape": "adobe-single",
                "events_per_cpu_s": 9000.0,
                "requests_per_cpu_s": 9000.0,
                "events_per_s": 4000.0,
                "requests_per_s": 4000.0,
            },
        ],
        "ratios": {
            "direct-push": {"ratio": 0.72, "peer": "ceiling B", "goal": 0.7, "met": True},
        },
        "shapes": {
            "direct-push": {
                "label": "direct pushes of 500 activities",
                "max_deliveries_per_s": 45.6,
                "max_events_per_s": 22800.0,
                "p50_at_half_ms": 26.2,
                "p99_at_half_ms": 34.6,
                "vs_ceiling_b": 0.172,
                "overload": {"shed_fraction": 0.69, "service_p99_ms": 1012.0, "rss_max_mb": 239.4},
            },
            "adobe-single": {
                "label": "Adobe I/O single events",
                "max_deliveries_per_s": 2562.0,
                "max_events_per_s": 2562.0,
                "p50_at_half_ms": None,
                "p99_at_half_ms": None,
                "vs_ceiling_b": 0.019,
                "overload": None,
            },
        },
        "workers": {
            "scoring": {"kind": "scoring", "events_per_s": 52812.3, "cpu_vs_consumer": 1.874}
        },
    },
    "workers": [{"kind": "scoring"}, {"kind": "scoring"}, {"kind": "scoring"}],
}

EXPECTED = """\
| measured | events/CPU-s | requests/CPU-s | ÷ peer per CPU-s (goal) | events/s | deliveries/s | p50 / p99 ms at half load | ÷ ceiling B | CPU per record ÷ bare consumer (≤ 2.0) | 5x load: shed | 5x load: p99 s | 5x load: peak RSS MB |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| ceiling A: Kafka's ProducerPerformance, acks=all (whole JVM) | 61,234 | — | — | 94,612 | — | — | — | — | — | — | — |
| ceiling B: raw aiokafka batch path | 125,000 | — | — | 132,801 | — | — | — | — | — | — | — |
| ingress, closed loop: direct-push | 90,000 | 180 | 0.72 x ceiling B (≥ 0.7: met) | 45,000 | 90 | — | — | — | — | — | — |
| kafka-hooks, closed loop: adobe-single | 9,000 | 9,000 | — | 4,000 | 4,000 | — | — | — | — | — | — |
| ingress, open loop: direct pushes of 500 activities | — | — | — | 22,800 | 46 | 26 / 35 | 0.17 | — | 69% | 1.0 | 239 |
| ingress, open loop: Adobe I/O single events | — | — | — | 2,562 | 2,562 | — | 0.02 | — | — | — | — |
| scoring worker: one process, median of 3 runs | — | — | — | 52,812 | — | — | — | 1.87 | — | — | — |

Envelopes of about 914 bytes; 2 cores."""  # noqa: E501


def test_a_report_becomes_the_expected_table() -> None:
    assert doc_table.table(REPORT) == EXPECTED


def test_only_the_text_between_the_markers_is_replaced() -> None:
    text = f"# Title\n\nbefore\n\n{START}\nold table\n{END}\n\nafter\n"
    replaced = doc_table.replace_between_markers(text, "new table")
    assert replaced == f"# Title\n\nbefore\n\n{START}\nnew table\n{END}\n\nafter\n"


@pytest.mark.parametrize(
    "text", ["no markers", f"{START} only", f"{END} then {START}", f"{START}{END}{START}{END}"]
)
def test_text_without_exactly_one_marker_pair_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bench-table"):
        doc_table.replace_between_markers(text, "table")


def test_update_rewrites_a_page_from_a_report_file(tmp_path: Path) -> None:
    report, page = tmp_path / "bench.json", tmp_path / "performance.md"
    report.write_bytes(orjson.dumps(REPORT))
    page.write_text(f"intro\n{START}\nstale\n{END}\nrest\n{PROFILE_START}\nold\n{PROFILE_END}\n")
    assert doc_table.main([str(report), str(page)]) == 0
    met = "Every ingress ratio was met in this run."
    assert page.read_text() == (
        f"intro\n{START}\n{EXPECTED}\n{END}\nrest\n{PROFILE_START}\n{met}\n{PROFILE_END}\n"
    )


SPOTS = [{"function": f"f{n} (ingest/x.py)", "percent": 10.0 - n} for n in range(10)]


def test_each_missed_ratio_lists_where_its_time_went() -> None:
    ratios = {
        "direct-push": {"ratio": 0.31, "peer": "ceiling B", "goal": 0.7, "met": False},
        "adobe-batch": {"ratio": 0.12, "peer": "ceiling B", "goal": 0.5, "met": False},
        "adobe-single": {"ratio": 1.1, "peer": "kafka-hooks", "goal": 1.0, "met": True},
    }
    profiles = {
        "direct-push": {"rate_per_s": 40.0, "samples": 900, "self": SPOTS},
        "adobe-single": {"rate_per_s": 900.0, "samples": 900, "self": SPOTS},
    }
    report = {**REPORT, "summary": {**REPORT["summary"], "ratios": ratios}, "profiles": profiles}
    lines = doc_table.profile_list(report).splitlines()
    assert lines[0].startswith("* **direct-push (0.31 x ceiling B, goal ≥ 0.7)**: py-spy self")
    assert "f0 (ingest/x.py) 10.0 %" in lines[0]
    assert "f7 (ingest/x.py) 3.0 %" in lines[0]
    assert "f8 " not in lines[0]  # the leaders only
    assert (
        lines[1]
        == "* **adobe-batch (0.12 x ceiling B, goal ≥ 0.5)**: not profiled (run with --profile)"
    )
    assert len(lines) == 2  # a met ratio is not listed


def test_a_smoke_report_never_reaches_the_docs(tmp_path: Path) -> None:
    report, page = tmp_path / "bench.json", tmp_path / "performance.md"
    report.write_bytes(orjson.dumps({**REPORT, "smoke": True}))
    page.write_text(f"{START}\nkept\n{END}\n")
    assert doc_table.main([str(report), str(page)]) == 1
    assert "kept" in page.read_text()


def test_the_performance_page_holds_one_generated_table() -> None:
    text = (DOCS / "performance.md").read_text("utf-8")
    assert text.count(START) == 1
    assert text.count(END) == 1
    assert text.count(PROFILE_START) == 1
    assert text.count(PROFILE_END) == 1
    table = text.split(START)[1].split(END)[0].strip()
    assert table.splitlines()[0] == doc_table.table(REPORT).splitlines()[0]
