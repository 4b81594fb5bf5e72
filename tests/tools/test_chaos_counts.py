"""The chaos table's counting (tools/chaos/verify.py, effects.py, report.py) on hand-made
records: each column can show a fault, and a row with one is not ok."""

from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from tools.chaos.effects import Table, alert_effects, score_effects
from tools.chaos.report import result, table
from tools.chaos.verify import Ack, Records, Tally, tally

T = 1_772_441_700_000


def rec(
    event_id: str,
    partition: int = 0,
    offset: int = 0,
    value: bytes = b"{}",
    key: bytes = b"k",
    **headers: str,
) -> ConsumerRecord[Any, Any]:
    hs = [("ce_id", event_id.encode()), *((k, v.encode()) for k, v in headers.items())]
    return ConsumerRecord("t", partition, offset, T + offset, 0, key, value, None, 1, 1, hs)


def topics(lead: Records, dead: Records | None = None) -> dict[str, Records]:
    return {"lead-activity": lead, "user-audit": [], "notification": [], "dead-letter": dead or []}


def test_every_acknowledged_event_found_once_is_a_clean_row() -> None:
    acks = {Ack("lead-activity", "a"), Ack("lead-activity", "b")}
    t = tally(acks, topics([rec("a", offset=0), rec("b", offset=1)]))
    assert (t.acknowledged, t.found, t.lost) == (2, 2, 0)
    assert (t.duplicates_on_topic, t.duplicate_effects) == (0, 0)


def test_an_acknowledged_event_missing_from_its_topic_is_lost() -> None:
    acks = {Ack("lead-activity", "a"), Ack("user-audit", "a"), Ack("lead-activity", "gone")}
    t = tally(acks, topics([rec("a")]))
    assert t.lost == 2  # "gone", and "a" on the wrong topic
    assert "lead-activity:gone" in t.missing


def test_a_copy_in_the_same_partition_is_deduplicated_one_in_another_is_an_effect() -> None:
    same = tally(set(), topics([rec("a", 0, 0), rec("a", 0, 1)]))
    assert (same.duplicates_on_topic, same.duplicate_effects) == (1, 0)
    split = tally(set(), topics([rec("a", 0, 0), rec("a", 1, 0)]))
    assert (split.duplicates_on_topic, split.duplicate_effects) == (1, 1)


def test_a_dead_letter_is_found_by_its_reason_and_raw_bytes() -> None:
    letters = [rec("sha256:x", value=b'{"marketoGUID": "m-1"}', dl_reason="missing_lead_id")]
    found = tally({Ack("dead-letter", "m-1", "missing_lead_id")}, topics([], letters))
    wrong = tally({Ack("dead-letter", "m-1", "unknown_type")}, topics([], letters))
    assert (found.lost, wrong.lost) == (0, 1)


def test_alerts_fired_twice_or_missing_are_effects() -> None:
    fired = [rec("x"), rec("x", offset=1), rec("y", offset=2)]
    e = alert_effects({"x", "y", "z"}, fired)
    assert (e.duplicates, e.lost, e.problems) == (1, 1, ())
    extra = alert_effects({"x"}, [rec("x"), rec("w", offset=1)])
    assert extra.problems


def score(key: str, events: int, value: float, offset: int) -> ConsumerRecord[Any, Any]:
    doc = {"score": value, "state": {"current": value, "features": {}, "events": events}}
    return rec("", offset=offset, key=key.encode(), value=orjson.dumps(doc))


def test_scores_must_equal_the_clean_run_and_count_each_activity_once() -> None:
    reference: Table = {"M:1": (10.0, 10.0, {}, 2), "M:2": (1.0, 1.0, {}, 1)}
    same = [score("M:1", 1, 5.0, 0), score("M:1", 2, 10.0, 1), score("M:2", 1, 1.0, 2)]
    ok = score_effects(reference, same, activities=3)
    assert (ok.duplicates, ok.lost, ok.problems) == (0, 0, ())
    twice = [score("M:1", 3, 12.0, 0), score("M:2", 1, 1.0, 1)]
    bad = score_effects(reference, twice, activities=3)
    assert bad.duplicates == 1
    assert bad.problems


def test_a_row_with_a_loss_a_duplicate_effect_or_no_recovery_is_not_ok() -> None:
    clean = Tally(acknowledged=3, found=3, duplicates_on_topic=2, duplicate_effects=0)
    assert result("s", 3, clean, 1.0, "x", (), {}).ok  # duplicates on a topic are allowed
    lost = Tally(acknowledged=3, found=2, duplicates_on_topic=0, duplicate_effects=0)
    dup = Tally(acknowledged=3, found=3, duplicates_on_topic=0, duplicate_effects=1)
    rows = [
        result("lost", 3, lost, 1.0, "x", (), {}),
        result("dup", 3, dup, 1.0, "x", (), {}),
        result("stuck", 3, clean, None, "x", (), {}),
        result("other", 3, clean, 1.0, "x", ("exit status 1",), {}),
    ]
    assert not any(r.ok for r in rows)
    text = table(rows)
    assert text.count(" NO") == 4
    assert "PROBLEM 1 acknowledged event(s) not on Kafka" in text
