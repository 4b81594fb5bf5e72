"""The scoring handler without a broker: emission threshold, checkpoints, commit hold-back."""

from typing import Any

import orjson
import pytest

from pipeline.consume.record import Partition
from pipeline.topics import OutboundRecord
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.scoring.models import DecayedWeights, Features
from pipeline.workers.scoring.records import state_from_json
from pipeline.workers.scoring.state import LeadScore
from tests.pipeline.events import MUNCHKIN, T0, lead, records
from tests.pipeline.workers.harness import input_topics

TOPICS = input_topics("unit")


class FakePublisher:
    def __init__(self) -> None:
        self.records: list[OutboundRecord] = []

    async def publish(self, records: list[OutboundRecord]) -> None:
        self.records.extend(records)

    def docs(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.value) for r in self.records]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def handler(publisher: FakePublisher, clock: Clock | None = None) -> ScoringHandler:
    return ScoringHandler(
        model=DecayedWeights({2: 10.0, 10: 1.0, 9: -25.0}, half_life_s=7 * 86400),
        emit_threshold=5.0,
        checkpoint_interval_s=30.0,
        scores_topic="unit.lead-scores",
        publisher=publisher,  # type: ignore[arg-type]
        metrics=WorkerMetrics.create(),
        monotonic=clock or Clock(),
    )


async def test_emits_when_the_score_moves_by_the_threshold() -> None:
    pub = FakePublisher()
    h = handler(pub)
    for r in records(
        [lead(10, "1", at_s=T0 + i) for i in range(4)] + [lead(2, "1", at_s=T0 + 9)], TOPICS
    ):
        h.handle(r)
    await h.flush()
    [doc] = pub.docs()
    assert (doc["munchkinId"], doc["leadId"], doc["update"]) == (MUNCHKIN, "1", "emitted")
    assert doc["score"] == pytest.approx(14.0, abs=1e-3)  # 9 s of a week-long half-life
    assert doc["state"]["events"] == 5
    assert doc["state"]["through"] == 4
    assert doc["model"] == "decayed-weights"
    assert doc["scoreTime"] == "2026-03-02T08:55:09Z"
    assert pub.records[0].key == f"{MUNCHKIN}:1".encode()


async def test_small_moves_hold_the_commit_back_until_checkpointed() -> None:
    pub, clock = FakePublisher(), Clock()
    h = handler(pub, clock)
    part = Partition(TOPICS.lead_activity.name, 0)
    rs = records([lead(10, "1"), lead(10, "2"), lead(2, "3")], TOPICS)
    for r in rs:
        h.handle(r)
    await h.flush()  # lead 3 emitted (10 points); leads 1 and 2 pending
    assert [d["leadId"] for d in pub.docs()] == ["3"]
    assert h.pending_offset(part) == 0
    clock.now = 31.0
    await h.flush()  # checkpoint: state written, score unchanged (never emitted: null)
    assert [(d["leadId"], d["update"], d["score"]) for d in pub.docs()[1:]] == [
        ("1", "checkpoint", None),
        ("2", "checkpoint", None),
    ]
    assert h.pending_offset(part) is None


async def test_release_writes_every_pending_lead_at_once() -> None:
    pub = FakePublisher()
    h = handler(pub)
    part = Partition(TOPICS.lead_activity.name, 0)
    for r in records([lead(10, "1"), lead(10, "2")], TOPICS):
        h.handle(r)
    await h.release([part])
    assert sorted(d["leadId"] for d in pub.docs()) == ["1", "2"]
    assert h.pending_offset(part) is None


async def test_activities_already_in_a_restored_state_are_not_counted_again() -> None:
    pub = FakePublisher()
    h = handler(pub)
    part = Partition(TOPICS.lead_activity.name, 0)
    rs = records([lead(2, "1", at_s=T0 + i) for i in range(3)], TOPICS)
    h.handle(rs[0])
    h.handle(rs[1])
    await h.release([part])
    restored = state_from_json(pub.docs()[-1])
    h2 = handler(FakePublisher())
    h2.put(part, f"{MUNCHKIN}:1", restored)
    for r in rs:  # offsets 0 and 1 come again after a restart, then 2 is new
        h2.handle(r)
    assert h2.scores(part)[f"{MUNCHKIN}:1"].events == 3
    h.handle(rs[2])
    assert h2.scores(part) == h.scores(part)


async def test_other_streams_are_ignored() -> None:
    from tests.pipeline.events import notification

    h = handler(FakePublisher())
    [r] = records([notification("campaign_abort", {"campaignId": 1})], TOPICS)
    h.handle(r)
    assert h.scores(r.partition) == {}


async def test_held_leads_are_not_tracked_by_the_cyclic_collector() -> None:
    # A tracked object per lead made full collections walk every lead (see _Leads).
    import gc

    h = handler(FakePublisher())
    rs = records([lead(10, str(n % 3), at_s=T0 + n) for n in range(9)], TOPICS)
    for r in rs:
        h.handle(r)
    gc.collect()
    leads = h._leads[rs[0].partition]
    assert len(leads) == 3
    assert not any(gc.is_tracked(v) for v in leads.held.values())
    assert not any(gc.is_tracked(c) for c in leads.counts.values())


async def test_put_then_scores_gives_the_state_back() -> None:
    h = handler(FakePublisher())
    part = Partition(TOPICS.lead_activity.name, 0)
    state = LeadScore(Features(3.5, T0, {10: 2, 2: 1}), 3, 41, "e-1", None, 0.0)
    h.put(part, f"{MUNCHKIN}:7", state)
    assert h.scores(part) == {f"{MUNCHKIN}:7": state}
    assert h.pending_offset(part) is None
