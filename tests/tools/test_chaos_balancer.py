"""The pure parts of the load-balancer scenarios: what the upstreams saw, in the table and in
the docs (tools/chaos/report.py, load.py, doc_table.py), and the balancer's server states as
its stats page gives them (tools/chaos/haproxy.py; the CSV is a real HAProxy 2.6 answer)."""

from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from tests.docs.markdown import DOCS
from tools.chaos import doc_table
from tools.chaos.doc_table import END, START
from tools.chaos.downstream import alerts_of_one_replica
from tools.chaos.haproxy import server_states
from tools.chaos.load import Answer
from tools.chaos.report import result, table, to_json
from tools.chaos.scenarios.balancer.fleet import unretried
from tools.chaos.verify import Tally

STATS = Path(__file__).with_name("haproxy-stats.csv")
CLEAN = Tally(acknowledged=3, found=3, duplicates_on_topic=1, duplicate_effects=0)


def test_the_server_states_come_from_the_stats_csv() -> None:
    states = server_states(STATS.read_text())
    assert states == {"ingress1": "DOWN", "ingress2": "UP 1/2", "ingress3": "UP 1/2"}


def test_no_answer_is_a_timeout_only_after_adobes_10_s() -> None:
    assert Answer(0.0, 0.2, None).label == "no-answer"
    assert Answer(0.0, 10.0, None).label == "timeout"
    assert Answer(0.0, 9.0, 504).label == "504"


def test_the_upstream_errors_are_a_column_of_the_table() -> None:
    rows = [
        result("calm", 3, CLEAN, 1.0, "x", (), {}, {}),
        result("rough", 3, CLEAN, 1.0, "x", (), {}, {"502": 1, "no-answer": 2}),
        result("raised", 0, CLEAN, 1.0, "x", (), {}),
    ]
    lines = table(rows).splitlines()
    assert "upstream errors" in lines[0]
    assert " none " in lines[1]
    assert " 502:1 no-answer:2 " in lines[2]
    assert " - " in lines[3]  # not measured


def test_answers_no_upstream_retries_are_singled_out() -> None:
    seen = {"429": 1, "502": 2, "503": 3, "504": 4, "no-answer": 5, "400": 6, "500": 7, "505": 8}
    assert unretried(seen) == {"400": 6, "500": 7, "505": 8}


def report(settings: str = "full", ok: bool = True) -> dict[str, object]:
    rows = [
        result("ingress SIGKILL", 10, CLEAN, 0.5, "x", (), {}, {}),
        result("LB replica SIGKILL", 1200, CLEAN, 1.4, "x", (), {"slowest_answer_s": 0.3}, {}),
        result(
            "LB rolling",
            900,
            CLEAN,
            19.0,
            "x",
            (),
            {"steps": [{"marked_down_s": 1.2}, {"marked_down_s": 1.4}]},
            {},
        ),
        result("LB replica stuck", 1500, CLEAN, None, "x", (), {}, {"504": 2}),
    ]
    scenarios = [to_json(r) for r in rows]
    return {
        "settings": settings,
        "ok": ok,
        "load_average": [6.2],
        "cores": 2,
        "scenarios": scenarios,
    }


def test_the_docs_table_holds_the_load_balancer_rows_only() -> None:
    lines = doc_table.table(report()).splitlines()
    assert lines[2] == "| replica SIGKILL | 1,200 | 3 | 3 | 0 | 1 | 0 | none | 0.3 | - | 1.4 |"
    assert lines[3] == "| rolling | 900 | 3 | 3 | 0 | 1 | 0 | none | 0.0 | 1.4 | 19.0 |"
    assert lines[4] == "| replica stuck | 1,500 | 3 | 3 | 0 | 1 | 0 | 504:2 | 0.0 | - | never |"
    assert len(lines) == 7
    assert "2 shared cores, load average 6.2" in lines[6]


@pytest.mark.parametrize("doc", [report("short"), report(ok=False)], ids=["short", "not ok"])
def test_a_short_run_or_one_with_problems_never_reaches_the_docs(
    doc: dict[str, object], tmp_path: Path
) -> None:
    path, page = tmp_path / "chaos.json", tmp_path / "deploying.md"
    path.write_bytes(orjson.dumps(doc))
    page.write_text(f"{START}\nkept\n{END}\n")
    assert doc_table.main([str(path), str(page)]) == 1
    assert "kept" in page.read_text()


def test_a_full_run_rewrites_only_the_text_between_the_markers(tmp_path: Path) -> None:
    path, page = tmp_path / "chaos.json", tmp_path / "deploying.md"
    path.write_bytes(orjson.dumps(report()))
    page.write_text(f"before\n{START}\nstale\n{END}\nafter\n")
    assert doc_table.main([str(path), str(page)]) == 0
    text = page.read_text()
    assert text.startswith(f"before\n{START}\n| scenario |")
    assert text.endswith(f"{END}\nafter\n")
    assert "stale" not in text


@pytest.mark.parametrize("text", ["none", f"{START} only", f"{END} {START}", f"{START}{END}" * 2])
def test_a_page_without_exactly_one_marker_pair_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="chaos-lb-table"):
        doc_table.between_markers(text, "table")


def test_the_deploying_page_holds_the_generated_table() -> None:
    text = (DOCS / "deploying.md").read_text("utf-8")
    assert text.count(START) == 1
    assert text.count(END) == 1


def alert(alert_id: str, offset: int) -> ConsumerRecord[Any, Any]:
    hs = [("ce_id", alert_id.encode())]
    return ConsumerRecord("alerts", 0, offset, 0, 0, b"k", b"{}", None, 1, 2, hs)


def test_an_alert_record_repeated_by_a_flush_retry_is_not_an_effect_twice() -> None:
    records = [alert("a", 0), alert("a", 1), alert("b", 2)]  # "a" written again by a retry
    e = alerts_of_one_replica({"a", "b"}, records, fired=2)
    assert (e.duplicates, e.lost, e.problems) == (0, 0, ())
    assert e.details["alert_records_repeated"] == 1


def test_an_alert_the_worker_fired_twice_is_a_duplicate_effect() -> None:
    e = alerts_of_one_replica({"a", "b"}, [alert("a", 0), alert("a", 1), alert("b", 2)], fired=3)
    assert e.duplicates == 1
    missing = alerts_of_one_replica({"a", "b"}, [alert("a", 0)], fired=1)
    assert missing.lost == 1


def test_an_unread_or_short_worker_count_is_a_problem() -> None:
    assert alerts_of_one_replica({"a"}, [alert("a", 0)], fired=None).problems
    assert alerts_of_one_replica({"a", "b"}, [alert("a", 0), alert("b", 1)], fired=1).problems
