"""What the workers did against what an uninterrupted run does with the same records.

The uninterrupted run is the workers' own handlers (``AlertingHandler``, ``ScoringHandler``) fed
in-process, partition by partition in offset order, with the same per-partition dedup as the
consume loop and the same settings as the worker processes; their outputs are captured instead
of published. Compared:

* alerts: ids on ``<prefix>.alerts`` against the ids the clean run fires. A repeated id is a
  duplicate effect; a missing one a lost effect; an extra one a problem.
* webhooks: the alert ids that reached the idempotent receiver (``hook.py``) against the same
  reference. Every one must arrive at least once (a missing one is a lost effect); arrivals
  beyond the first are the repeats at-least-once allows, which the receiver drops by
  ``webhook-id``; a forged signature or an id the reference lacks is a problem.
* scores: the latest record per lead on ``<prefix>.lead-scores`` against the clean run's: the
  emitted score, the current score, the features and the number of activities counted. Every
  distinct activity must be counted once: more is a duplicate effect, fewer a lost one.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from pipeline.consume.handler import Handler
from pipeline.consume.record import Partition, to_record
from pipeline.dedup import DedupMemory
from pipeline.publish import Publisher
from pipeline.topics import OutboundRecord
from pipeline.workers.alerting.handler import AlertingHandler
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.settings import WorkerSettings
from tools.chaos.verify import Records, header

REFERENCE_TOPIC = "reference"


class Capture:
    """Stands in for the publisher of a reference handler: keeps what it would publish."""

    def __init__(self) -> None:
        self.records: list[OutboundRecord] = []

    async def publish(self, records: Sequence[OutboundRecord]) -> None:
        self.records.extend(records)


@dataclass(frozen=True)
class Effects:
    duplicates: int = 0
    lost: int = 0
    problems: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def feed(handler: Handler, topics: dict[str, Records]) -> list[Partition]:
    """Every record once per partition, in offset order, as the consume loop hands them over."""
    seen: list[Partition] = []
    for name, records in topics.items():
        by_partition: dict[int, Records] = defaultdict(list)
        for r in records:
            by_partition[r.partition].append(r)
        for number, rs in sorted(by_partition.items()):
            part, memory = Partition(name, number), DedupMemory()
            seen.append(part)
            for raw in sorted(rs, key=lambda r: r.offset):
                record = to_record(part, raw)
                if memory.add(record.event_id, record.timestamp_ms / 1000):
                    handler.handle(record)
    return seen


async def reference_alerts(settings: WorkerSettings, inputs: dict[str, Records]) -> set[str]:
    assert settings.alerting is not None
    a, capture = settings.alerting, Capture()
    handler = AlertingHandler(
        rules=a.rules,
        alerts_topic=REFERENCE_TOPIC,
        publisher=cast(Publisher, capture),  # duck-typed: only publish() is called
        sinks=(),
        metrics=WorkerMetrics.create(),
        max_keys_per_rule=a.max_keys_per_rule,
        restore_horizon_s=a.restore_horizon_s,
        lateness_s=a.lateness_s,
    )
    feed(handler, inputs)
    await handler.flush()
    return {orjson.loads(r.value)["id"] for r in capture.records}


def alert_effects(reference: set[str], alerts: Records) -> Effects:
    fired = Counter(header(r, "ce_id") for r in alerts)
    duplicates = sum(n - 1 for n in fired.values())
    missing, extra = reference - set(fired), set(fired) - reference
    problems = []
    if extra:
        problems.append(f"{len(extra)} alert(s) the uninterrupted run does not fire")
    details = {"alerts_fired": len(fired), "alerts_reference": len(reference)}
    return Effects(duplicates, len(missing), tuple(problems), details)


def webhook_effects(reference: set[str], arrivals: Counter[str], forged: int) -> Effects:
    missing, extra = reference - set(arrivals), set(arrivals) - reference
    problems = []
    if extra:
        problems.append(f"{len(extra)} webhook(s) for alerts the uninterrupted run does not fire")
    if forged:
        problems.append(f"{forged} webhook(s) failed signature verification")
    details = {
        "webhooks_reference": len(reference),
        "webhooks_unique": len(set(arrivals) & reference),
        "webhook_arrivals": sum(arrivals.values()),
    }
    return Effects(0, len(missing), tuple(problems), details)


Table = dict[str, tuple[Any, ...]]


def score_table(records: Iterable[tuple[bytes, bytes | None]]) -> Table:
    """The latest of (key, value) score records per lead, in the order given: (score, current
    score, features, activities counted)."""
    latest: dict[str, dict[str, Any]] = {}
    for key, value in records:
        if value is not None:
            latest[key.decode()] = orjson.loads(value)
    return {
        k: (d["score"], d["state"]["current"], d["state"]["features"], d["state"]["events"])
        for k, d in latest.items()
    }


async def reference_scores(settings: WorkerSettings, leads: Records, topic: str) -> Table:
    assert settings.scoring is not None
    s, capture = settings.scoring, Capture()
    handler = ScoringHandler(
        model=s.model,
        emit_threshold=s.emit_threshold,
        checkpoint_interval_s=s.checkpoint_interval_s,
        scores_topic=REFERENCE_TOPIC,
        publisher=cast(Publisher, capture),  # duck-typed: only publish() is called
        metrics=WorkerMetrics.create(),
    )
    partitions = feed(handler, {topic: leads})
    await handler.release(partitions)  # writes every pending change as a checkpoint
    return score_table((r.key, r.value) for r in capture.records)


def score_effects(reference: Table, scores: Records, activities: int) -> Effects:
    ordered = sorted(scores, key=lambda r: (r.partition, r.offset))
    got = score_table((bytes(r.key), r.value) for r in ordered)
    counted = sum(row[3] for row in got.values())
    differ = sorted(k for k in reference.keys() | got.keys() if reference.get(k) != got.get(k))
    problems = []
    if differ:
        problems.append(
            f"{len(differ)} lead score(s) differ from the uninterrupted run: {differ[:3]}"
        )
    details = {"leads_scored": len(got), "activities_counted": counted, "activities": activities}
    return Effects(
        max(0, counted - activities), max(0, activities - counted), tuple(problems), details
    )
