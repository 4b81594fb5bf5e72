"""The scoring handler without a broker: emission threshold, checkpoints, commit hold-back."""

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.consume.event_time import event_time_s
from pipeline.consume.record import Partition, Record
from pipeline.topics import OutboundRecord, route
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.crossings import Crossings
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.scoring.models import (
    Activity,
    DecayedWeights,
    Features,
    LogisticRegression,
    ScoringModel,
)
from pipeline.workers.scoring.records import state_from_json
from pipeline.workers.scoring.state import LeadScore
from tests.pipeline.events import MUNCHKIN, T0, lead, record_of, records
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


def handler(
    publisher: FakePublisher,
    clock: Clock | None = None,
    model: ScoringModel | None = None,
    crossings: Crossings | None = None,
) -> ScoringHandler:
    return ScoringHandler(
        model=model or DecayedWeights({2: 10.0, 10: 1.0, 9: -25.0}, half_life_s=7 * 86400),
        emit_threshold=5.0,
        checkpoint_interval_s=30.0,
        scores_topic="unit.lead-scores",
        publisher=publisher,  # type: ignore[arg-type]
        metrics=WorkerMetrics.create(),
        crossings=crossings,
        crossings_topic="unit.score-crossings",
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


def reference(
    model: ScoringModel, threshold: float, rs: list[Record], restored: dict[str, LeadScore]
) -> tuple[dict[str, LeadScore], set[str]]:
    """What the handler holds after ``rs``, folded with ``apply`` and ``score`` per lead (the
    handler's hot path counts in place instead), and the leads to emit."""
    held, emitting = dict(restored), set()
    for r in rs:
        doc = r.document()
        key = f"{doc['munchkinid']}:{doc['subject']}"
        activity = Activity(doc["data"]["activityTypeId"], event_time_s(doc["time"]))
        old = held.get(key) or LeadScore(Features(), 0, -1, "", None, 0.0)
        if r.offset <= old.through:
            continue
        features = model.apply(old.features, activity)
        score = model.score(features)
        emitted, emitted_at_s = old.emitted, old.emitted_at_s
        if abs(score - (emitted or 0.0)) >= threshold:
            emitted, emitted_at_s = score, activity.at_s
            emitting.add(key)
        held[key] = LeadScore(features, old.events + 1, r.offset, doc["id"], emitted, emitted_at_s)
    return held, emitting


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [
            DecayedWeights({2: 10.0, 10: 1.0, 9: -25.0, 7: 0.5}, half_life_s=7 * 86400),
            LogisticRegression(intercept=-2.0, coefficients={2: 1.0, 10: 0.3}),
        ]
    ),
    st.lists(
        st.tuples(
            st.sampled_from([2, 6, 7, 9, 10]),
            st.sampled_from(["1", "2", "3"]),
            st.integers(-30 * 86400, 30 * 86400),  # out of order, too
            st.booleans(),  # without the headers (an older ingress): read from the value
        ),
        max_size=40,
    ),
    st.integers(-1, 10),  # lead 1 restored through this offset
)
async def test_the_handler_holds_what_folding_apply_over_each_lead_gives(
    model: ScoringModel, events: list[tuple[int, str, int, bool]], restored_through: int
) -> None:
    pub = FakePublisher()
    h = handler(pub, model=model)
    part = Partition(TOPICS.lead_activity.name, 0)
    restored = {
        f"{MUNCHKIN}:1": LeadScore(Features(2.5, T0, {10: 3}), 3, restored_through, "e", None, 0.0)
    }
    for key, state in restored.items():
        h.put(part, key, state)
    rs = []
    for offset, (type_id, lead_id, dt, bare) in enumerate(events):
        out = route(lead(type_id, lead_id, at_s=T0 + dt), TOPICS)
        rs.append(record_of(out._replace(headers=()) if bare else out, offset, 0))
    for r in rs:
        h.handle(r)
    held, emitting = reference(model, 5.0, rs, restored)
    assert h.scores(part) == held
    await h.flush()
    emitted = [d for d in pub.docs() if d["update"] == "emitted"]
    assert sorted(f"{d['munchkinId']}:{d['leadId']}" for d in emitted) == sorted(emitting)


async def test_states_handed_out_do_not_change_as_later_activities_are_counted() -> None:
    # The handler counts into each lead's counts dict in place: what it hands out is a copy.
    h = handler(FakePublisher())
    part = Partition(TOPICS.lead_activity.name, 0)
    first, second = records([lead(10, "1"), lead(10, "1", at_s=T0 + 1)], TOPICS)
    h.handle(first)
    before = h.scores(part)[f"{MUNCHKIN}:1"]
    h.handle(second)
    assert before.features.counts == {10: 1}
    assert h.scores(part)[f"{MUNCHKIN}:1"].features.counts == {10: 2}
