"""The scoring handler's ``handle_run`` (a partition's raw records without a ``Record`` per
activity) against the loop's own way, record by record through ``handle``, without a broker:
the same state, scores, crossings, dead letters, commit hold-back and outcome counts, over
activities as the ingress writes them and over every kind of record that must go the loop's way
or fail (no headers, other headers, no id, bad time, type or key, re-sends, restored leads)."""

import itertools
from typing import Any

import pytest
from aiokafka.structs import TopicPartition
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from pipeline.consume.loop import ConsumeLoop
from pipeline.consume.metrics import ConsumeMetrics
from pipeline.consume.record import Partition
from pipeline.consume.settings import ConsumeSettings
from pipeline.dedup import DedupMemory
from pipeline.settings import KafkaSettings
from pipeline.topics import route
from pipeline.workers.scoring.crossings import Crossings
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.scoring.models import (
    DecayedWeights,
    Features,
    LogisticRegression,
    ScoringModel,
)
from pipeline.workers.scoring.state import LeadScore
from tests.pipeline.events import MUNCHKIN, OTHER, T0, Raw, audit, lead
from tests.pipeline.workers.harness import input_topics
from tests.pipeline.workers.scoring.test_crossings import thresholds
from tests.pipeline.workers.scoring.test_handler import FakePublisher
from tests.pipeline.workers.scoring.test_handler import handler as scoring_handler

TOPICS = input_topics("unit")
ACTIVITY = TOPICS.lead_activity.name
AUDIT = TOPICS.user_audit.name
# low enough that a few activities cross them, up and down, under either model
THRESHOLDS = f"""
[[thresholds]]
id = "warm"
tenant = "{MUNCHKIN}"
up_at = 8
down_at = 4
on_up = [{{ action = "add_to_list", list = "warm" }}]
on_down = [{{ action = "remove_from_list", list = "warm" }}]
[[thresholds]]
id = "hot"
tenant = "{MUNCHKIN}"
up_at = 25
on_up = [{{ action = "add_to_list", list = "hot" }}]
"""
KINDS = [
    "ingress",  # as the ingress writes it (most records)
    "ingress",
    "ingress",
    "bare",  # no headers: read from the value
    "resend",  # an earlier record's event again, at a new offset
    "bad_time",
    "no_time",
    "bad_type",
    "bad_key",
    "no_id",
    "extra_header",
    "renamed_header",  # six headers, one of another name
    "reordered_headers",
    "bad_value",
]


class Reference:
    """The scoring handler without ``handle_run``: the loop hands it one ``Record`` at a time."""

    def __init__(self, handler: ScoringHandler) -> None:
        self.handler = handler

    def __getattr__(self, name: str) -> Any:
        if name == "handle_run":
            raise AttributeError(name)
        return getattr(self.handler, name)


def raw_of(kind: str, offset: int, event: tuple[int, str, str, int], earlier: list[Any]) -> Raw:
    type_id, munchkin, lead_id, dt = event
    env = lead(type_id, lead_id, at_s=T0 + dt, munchkin=munchkin)
    out = route(env, TOPICS)
    headers = out.headers
    if kind == "resend" and earlier:
        return Raw(offset, earlier[offset % len(earlier)])
    if kind in ("bare", "bad_value"):
        headers = ()
    elif kind in ("bad_time", "no_time", "bad_type", "no_id"):
        name = {"bad_time": "ce_time", "no_time": "ce_time", "bad_type": "activity_type_id"}
        value = {"bad_time": b"yesterday", "no_time": None, "bad_type": b"7x", "no_id": b""}
        target = name.get(kind, "ce_id")
        # Kafka allows a header without a value (None), which Headers does not type
        headers = tuple((n, value[kind] if n == target else v) for n, v in headers)  # type: ignore[misc]
    elif kind == "extra_header":
        headers = (*headers, ("x-trace", b"1"))
    elif kind == "renamed_header":
        headers = tuple(("ce_subjekt" if n == "ce_subject" else n, v) for n, v in headers)
    elif kind == "reordered_headers":  # ce_id and ce_time trade places
        headers = (headers[0], headers[2], headers[1], *headers[3:])
    out = out._replace(
        headers=headers,
        key=b"\xff\xfe:1" if kind == "bad_key" else out.key,
        value=b'{"id": ' if kind == "bad_value" else out.value,
    )
    earlier.append(out)
    return Raw(offset, out)


def loop_over(handler: Any, publisher: FakePublisher) -> ConsumeLoop:
    loop = ConsumeLoop(
        name="scoring",
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
        settings=ConsumeSettings(group_id="unit"),
        topics=[ACTIVITY],
        handler=handler,
        publisher=publisher,  # type: ignore[arg-type]
        dead_letter_topic=TOPICS.dead_letter.name,
        metrics=ConsumeMetrics.create(CollectorRegistry()),
    )
    for part in (Partition(ACTIVITY, 0), Partition(ACTIVITY, 1), Partition(AUDIT, 0)):
        loop._owned.add(part)
        loop._memories[part] = DedupMemory()
    return loop


def written(publisher: FakePublisher) -> list[tuple[Any, ...]]:
    """What was published, but for the time of writing."""
    return [(r.topic, r.key, r.value, r.headers, r.partition) for r in publisher.records]


@pytest.mark.parametrize("with_crossings", [False, True])
@settings(max_examples=60, deadline=None)
@given(
    model=st.sampled_from(
        [
            DecayedWeights({2: 10.0, 10: 1.0, 9: -25.0, 7: 0.5}, half_life_s=7 * 86400),
            LogisticRegression(intercept=-2.0, coefficients={2: 1.0, 10: 0.3}),
        ]
    ),
    events=st.lists(
        st.tuples(
            st.tuples(
                st.sampled_from([2, 6, 7, 9, 10]),
                st.sampled_from([MUNCHKIN, OTHER]),
                st.sampled_from(["1", "2", "3"]),
                st.integers(-30 * 86400, 30 * 86400),
            ),
            st.sampled_from(KINDS),
            st.integers(0, 1),  # partition
        ),
        max_size=60,
    ),
    cuts=st.lists(st.integers(0, 60), max_size=3),  # where batches end
    restored_through=st.integers(-1, 10),
    audits=st.integers(0, 3),  # records of another stream in the same batches
)
async def test_handle_run_has_the_effects_of_handle_record_by_record(
    with_crossings: bool,
    model: ScoringModel,
    events: list[tuple[tuple[int, str, str, int], str, int]],
    cuts: list[int],
    restored_through: int,
    audits: int,
) -> None:
    offsets = [0, 0]
    earlier: list[Any] = []
    by_part: list[list[Raw]] = [[], []]
    for event, kind, p in events:
        by_part[p].append(raw_of(kind, offsets[p], event, earlier))
        offsets[p] += 1
    audit_raws = [Raw(i, route(audit("Email", "approve"), TOPICS)) for i in range(audits)]
    ends = sorted({0, *cuts, 61})
    batches = []
    for start, end in itertools.pairwise(ends):
        batch = {TopicPartition(ACTIVITY, p): raws[start:end] for p, raws in enumerate(by_part)}
        batch[TopicPartition(AUDIT, 0)] = audit_raws[start:end]
        batches.append({tp: raws for tp, raws in batch.items() if raws})

    sides = []
    for reference in (False, True):
        publisher = FakePublisher()
        crossings = Crossings(thresholds(THRESHOLDS)) if with_crossings else None
        handler = scoring_handler(publisher, model=model, crossings=crossings)
        for p in (0, 1):
            state = LeadScore(Features(2.5, T0, {10: 3}), 3, restored_through, "e", None, 0.0)
            handler.put(Partition(ACTIVITY, p), f"{MUNCHKIN}:1", state)
        loop = loop_over(Reference(handler) if reference else handler, publisher)
        seen = []
        for batch in batches:
            await loop._handle_batch(batch)
            seen.append(
                (
                    written(publisher),
                    {p: handler.scores(p) for p in loop._owned},
                    {p: handler.pending_offset(p) for p in loop._owned},
                    {o: c._value.get() for o, c in loop._counted.items()},
                    dict(loop._next),
                    {p: len(m) for p, m in loop._memories.items()},
                )
            )
        sides.append(seen)
    assert sides[0] == sides[1]


@pytest.mark.parametrize("reference", [False, True])
async def test_an_activity_type_that_is_not_a_number_is_a_dead_letter_not_a_bug(
    reference: bool, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = FakePublisher()
    handler = scoring_handler(publisher)
    loop = loop_over(Reference(handler) if reference else handler, publisher)
    bad = raw_of("bad_type", 0, (10, MUNCHKIN, "1", 0), [])
    huge = raw_of("ingress", 1, (10, MUNCHKIN, "1", 1), [])
    huge.headers = (*huge.headers[:5], ("activity_type_id", b"9" * 5000))
    await loop._handle_batch({TopicPartition(ACTIVITY, 0): [bad, huge]})
    dead = [r for r in publisher.records if r.topic == TOPICS.dead_letter.name]
    assert [dict(r.headers)["dl_reason"] for r in dead] == [b"invalid_envelope"] * 2
    assert b"activity_type_id header b'7x' is not an integer" in dict(dead[0].headers)["dl_detail"]
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
