"""Score thresholds with hysteresis, without a broker: the config, crossings decided once per
crossing in record order, their records, and the hysteresis carried through a restore."""

import tomllib
from typing import Any

import orjson
import pytest

from pipeline.errors import ConfigError
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.crossings import Crossings, ScoreThreshold, read_thresholds
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.scoring.models import DecayedWeights
from pipeline.workers.scoring.records import state_from_json
from tests.pipeline.events import MUNCHKIN, OTHER, T0, lead, records
from tests.pipeline.workers.harness import input_topics
from tests.pipeline.workers.scoring.test_handler import FakePublisher

TOPICS = input_topics("unit")
THRESHOLDS = f"""
[[thresholds]]
id = "mql"
tenant = "{MUNCHKIN}"
up_at = 30
down_at = 10
on_up = [
  {{ action = "request_campaign", campaign_id = 77, token = "{{{{my.leadScore}}}}" }},
  {{ action = "change_program_status", program_id = 2001, status = "Nurture.Member" }},
  {{ action = "add_to_list", list = "followup" }},
]
on_down = [{{ action = "remove_from_list", list = "followup" }}]
"""


def thresholds(text: str = THRESHOLDS) -> tuple[ScoreThreshold, ...]:
    return read_thresholds(tomllib.loads(text)["thresholds"], "scoring.thresholds", {})


def handler(pub: FakePublisher) -> ScoringHandler:
    return ScoringHandler(
        model=DecayedWeights({2: 10.0, 9: -25.0, 10: 1.0}, half_life_s=7 * 86400),
        emit_threshold=5.0,
        checkpoint_interval_s=30.0,
        scores_topic="unit.lead-scores",
        publisher=pub,  # type: ignore[arg-type]
        metrics=WorkerMetrics.create(),
        crossings=Crossings(thresholds()),
        crossings_topic="unit.score-crossings",
    )


def crossings(pub: FakePublisher) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in pub.records if r.topic == "unit.score-crossings"]


def test_hysteresis_crosses_up_at_up_at_and_down_below_down_at_only() -> None:
    c = Crossings(thresholds())
    above: frozenset[str] = frozenset()
    seen = []
    for score in (29, 30, 12, 31, 9.9, 10, 25, 30):
        above, crossed = c.cross(MUNCHKIN, above, score)
        seen += [(score, x.direction) for x in crossed]
    assert seen == [(30, "up"), (9.9, "down"), (30, "up")]
    assert c.cross(OTHER, frozenset(), 100) == (frozenset(), [])  # another tenant's leads


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("down_at = 40", "at most up_at"),
        ('on_up = [{ action = "request_campaign" }]', "needs campaign_id"),
        ('on_up = [{ action = "change_program_status", program_id = 1 }]', "program_id and status"),
        ('on_up = [{ action = "add_to_list" }]', "needs list"),
        ('on_up = [{ action = "sing" }]', "Expected one of"),
        ('id = "MQL!"', "needs an id"),
    ],
)
def test_a_threshold_that_cannot_work_is_refused(change: str, error: str) -> None:
    key = change.split(" = ")[0]
    text = "\n".join(line for line in THRESHOLDS.splitlines() if not line.startswith(key + " "))
    if key == "on_up":  # drop the multi-line on_up too
        text = THRESHOLDS[: THRESHOLDS.index("on_up")] + THRESHOLDS[THRESHOLDS.index("on_down") :]
    with pytest.raises(ConfigError, match=error):
        thresholds(text + "\n" + change if key != "id" else text.replace('id = "mql"', change))


async def test_a_crossing_is_decided_once_per_crossing_and_forces_an_emitted_score() -> None:
    pub = FakePublisher()
    h = handler(pub)
    # 2 forms (20) + 11 opens: 31 → up; an unsubscribe (-25): 6 → down; 3 forms: 36 → up again
    events = [lead(2, "7", at_s=T0 + i) for i in range(2)]
    events += [lead(10, "7", at_s=T0 + 10 + i) for i in range(11)]
    events += [lead(9, "7", at_s=T0 + 100)]
    events += [lead(2, "7", at_s=T0 + 200 + i) for i in range(3)]
    for r in records(events, TOPICS):
        h.handle(r)
        await h.flush()  # one flush per record: each emitted score is seen
    found = crossings(pub)
    # a crossing forces an emitted score (the move may be below emit_threshold)
    emitted = [orjson.loads(r.value)["score"] for r in pub.records if r.topic.endswith("scores")]
    assert all(x["score"] in emitted for x in found)
    assert [(x["direction"], x["score"]) for x in found] == [
        ("up", pytest.approx(31, abs=0.01)),
        ("down", pytest.approx(6, abs=0.01)),
        ("up", pytest.approx(36, abs=0.01)),
    ]
    assert found[0]["actions"] == [
        {"action": "request_campaign", "campaignId": 77, "token": "{{my.leadScore}}"},
        {"action": "change_program_status", "programId": 2001, "status": "Nurture.Member"},
        {"action": "add_to_list", "list": "followup"},
    ]
    assert found[1]["actions"] == [{"action": "remove_from_list", "list": "followup"}]
    assert found[0]["eventId"] == events[12].id  # the eleventh open crossed
    assert len({x["id"] for x in found}) == 3
    # each crossing is published before its score, in the same flush
    topics = [r.topic for r in pub.records]
    after = [topics[i + 1] for i, t in enumerate(topics) if t == "unit.score-crossings"]
    assert after == ["unit.lead-scores"] * 3
    last = [r for r in pub.records if r.topic == "unit.lead-scores"][-1]
    assert state_from_json(orjson.loads(last.value)).above == {"mql"}


async def test_a_restored_lead_keeps_its_side_and_a_repeat_decides_the_same_ids() -> None:
    events = [lead(2, "8", at_s=T0 + i) for i in range(4)]  # 40: up
    events += [lead(10, "8", at_s=T0 + 10 + i) for i in range(2)]  # 42: nothing
    first_pub = FakePublisher()
    first = handler(first_pub)
    rs = records(events, TOPICS)
    for r in rs[:4]:
        first.handle(r)
    await first.flush()
    [up] = crossings(first_pub)
    # a second process restores the lead from its last score record and goes on
    second_pub = FakePublisher()
    second = handler(second_pub)
    last = [r for r in first_pub.records if r.topic == "unit.lead-scores"][-1]
    second.put(rs[0].partition, "321-XYZ-987:8", state_from_json(orjson.loads(last.value)))
    for r in rs:  # the first four are at or below `through`: skipped
        second.handle(r)
    await second.flush()
    assert crossings(second_pub) == []
    # a process that lost the score record decides the same crossing under the same id
    third_pub = FakePublisher()
    third = handler(third_pub)
    for r in rs:
        third.handle(r)
    await third.flush()
    assert [x["id"] for x in crossings(third_pub)] == [up["id"]]
