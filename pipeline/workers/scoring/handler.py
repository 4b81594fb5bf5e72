"""The scoring worker's handler: lead activities → a score per lead → ``<prefix>.lead-scores``.

State: per input partition, ``<munchkinId>:<leadId>`` → ``LeadScore`` (the model's features, the
offset of the last activity applied, the score last emitted). The compacted lead-scores topic is
both the output and the changelog: each record carries the score *and* the state behind it.

* A record with ``update=emitted`` is written when the score moved by at least
  ``emit_threshold`` from the score last emitted (``score`` is the new score).
* Smaller moves stay in memory; the commit is held back to the oldest of them
  (``pending_offset``). After ``checkpoint_interval_s``, and before a partition is released, they
  are written as ``update=checkpoint`` records: ``score`` unchanged (the last emitted, or null),
  ``state`` current. Readers that want only significant moves filter on ``update``.

Restore (a partition arrives): read the same-numbered lead-scores partition, latest record per
lead. Records after the committed offset are then handled again; an activity whose offset is at
or below its lead's ``through`` is already in the state and is skipped, so every activity counts
once and a restart or rebalance ends with the scores of an uninterrupted run. Upstream duplicates
(same id, different offsets) are skipped by the loop's id memory.
"""

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple

import orjson

from pipeline.consume.handler import Reader
from pipeline.consume.record import Partition, Record, event_time_s
from pipeline.envelope import format_epoch_s
from pipeline.publish import Publisher
from pipeline.topics import Headers, OutboundRecord
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.models import (
    Activity,
    Features,
    ScoringModel,
    features_from_json,
    features_to_json,
)
from pipeline.workers.scoring.sinks import MarketoScoreSink

log = logging.getLogger(__name__)

NO_FEATURES = Features()
_new_tuple = tuple.__new__  # a NamedTuple's own __new__ is a Python function, twice as slow


class LeadScore(NamedTuple):
    features: Features
    events: int
    through: int  # offset of the last activity applied (input partition of the same number)
    last_event_id: str
    emitted: float | None  # the score last emitted
    emitted_at_s: float  # event time of that emission


# LeadScore without the counts: (decayed, decayed_at_s, events, through, last_event_id, emitted,
# emitted_at_s). See _Leads for why.
Held = tuple[float, float, int, int, str, float | None, float]


class _Leads:
    """One input partition's leads, in the form the cyclic garbage collector can ignore.

    CPython's collector stops tracking an exact tuple whose items are atomic (numbers, strings,
    None), but never a NamedTuple, nor a tuple holding a dict. Held as ``LeadScore`` (two
    NamedTuples and a dict), every lead stayed tracked and each state update left a new
    long-lived object behind, so full collections ran every few thousand records and walked every
    lead: the largest cost of the scoring worker, growing with the number of leads. Here a lead is
    a plain tuple of atomic values plus its counts dict (of ints, untracked) in a second map.
    """

    __slots__ = ("counts", "held")

    def __init__(self) -> None:
        self.held: dict[str, Held] = {}
        self.counts: dict[str, Mapping[int, int]] = {}

    def __len__(self) -> int:
        return len(self.held)

    def get(self, key: str) -> LeadScore | None:
        found = self.held.get(key)
        if found is None:
            return None
        decayed, decayed_at_s, events, through, last_event_id, emitted, emitted_at_s = found
        features = Features(decayed, decayed_at_s, self.counts[key])
        return LeadScore(features, events, through, last_event_id, emitted, emitted_at_s)

    def put(self, key: str, state: LeadScore) -> None:
        f = state.features
        self.held[key] = (
            f.decayed,
            f.decayed_at_s,
            state.events,
            state.through,
            state.last_event_id,
            state.emitted,
            state.emitted_at_s,
        )
        self.counts[key] = f.counts

    def pop(self, key: str) -> None:
        self.held.pop(key, None)
        self.counts.pop(key, None)

    def all(self) -> dict[str, LeadScore]:
        return {k: s for k in self.held if (s := self.get(k)) is not None}

    def state(self, key: str) -> LeadScore:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found


class _Pending:
    """Leads with changes not yet on the topic, oldest first: (offset, monotonic time) of the
    first unwritten change. A dict keeps insertion order, and records are handled in offset
    order, so the first entry holds the lowest offset and the earliest time."""

    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first: dict[str, tuple[int, float]] = {}

    def touch(self, key: str, offset: int, now: float) -> None:
        if key not in self.first:
            self.first[key] = (offset, now)

    def clear(self, key: str) -> None:
        self.first.pop(key, None)

    def lowest(self) -> int | None:
        for offset, _ in self.first.values():
            return offset
        return None

    def due(self, cutoff: float) -> list[str]:
        """Keys pending since before ``cutoff``."""
        keys = []
        for key, (_, since) in self.first.items():
            if since > cutoff:
                break
            keys.append(key)
        return keys


def score_record(
    part: Partition, key: str, state: LeadScore, update: str, model: ScoringModel, topic: str
) -> OutboundRecord:
    munchkin, _, lead = key.partition(":")
    doc: dict[str, Any] = {
        "munchkinId": munchkin,
        "leadId": lead,
        "model": model.name,
        "score": state.emitted,
        "scoreTime": format_epoch_s(state.emitted_at_s) if state.emitted is not None else None,
        "update": update,
        "state": {
            "current": model.score(state.features),
            "features": features_to_json(state.features),
            "events": state.events,
            "partition": part.partition,
            "through": state.through,
            "lastEventId": state.last_event_id,
            "emittedAt": state.emitted_at_s,
        },
    }
    headers: Headers = (
        ("content-type", b"application/json"),
        ("munchkin_id", munchkin.encode()),
        ("model", model.name.encode()),
        ("update", update.encode()),
    )
    # The partition number of the lead's activities, where a restore looks for it (the service
    # checks that both topics have as many partitions); murmur2 would pick the same one, slower.
    return OutboundRecord(
        topic, key.encode(), orjson.dumps(doc), headers, int(time.time() * 1000), part.partition
    )


def state_from_json(doc: dict[str, Any]) -> LeadScore:
    state = doc["state"]
    emitted = doc.get("score")
    return LeadScore(
        features=features_from_json(state["features"]),
        events=int(state["events"]),
        through=int(state["through"]),
        last_event_id=str(state.get("lastEventId", "")),
        emitted=None if emitted is None else float(emitted),
        emitted_at_s=float(state.get("emittedAt", 0.0)),
    )


def activity_type(data: dict[str, Any]) -> int:
    type_id = data.get("activityTypeId")
    return type_id if isinstance(type_id, int) and not isinstance(type_id, bool) else 0


class ScoringHandler:
    replay_horizon_s = 0.0  # state comes from the lead-scores topic, not from replaying input

    def __init__(
        self,
        *,
        model: ScoringModel,
        emit_threshold: float,
        checkpoint_interval_s: float,
        scores_topic: str,
        publisher: Publisher,
        metrics: WorkerMetrics,
        pusher: MarketoScoreSink | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = model
        self._threshold = emit_threshold
        self._checkpoint_s = checkpoint_interval_s
        self._topic = scores_topic
        self._publisher = publisher
        self._metrics = metrics
        self._pusher = pusher
        self._clock = clock
        self._monotonic = monotonic
        self._leads: dict[Partition, _Leads] = {}
        self._pending: dict[Partition, _Pending] = {}
        self._outbox: set[tuple[Partition, str]] = set()
        self._releasing: set[Partition] = set()

    def scores(self, partition: Partition) -> dict[str, LeadScore]:
        leads = self._leads.get(partition)
        return leads.all() if leads is not None else {}

    def put(self, partition: Partition, key: str, state: LeadScore) -> None:
        """Hold ``state`` for a lead, as restored from the lead-scores topic."""
        leads = self._leads.get(partition)
        if leads is None:
            leads = self._leads[partition] = _Leads()
            self._pending[partition] = _Pending()
        leads.put(key, state)

    # ---- per record -------------------------------------------------------------------------

    def handle(self, record: Record) -> None:
        if record.stream != "lead-activity":
            return
        part = record.partition
        # The lead key, type and time come from the record's key and headers, which the ingress
        # writes (``activity_type_id``, ``ce_time``); from the JSON value for older records.
        headers, key_bytes, event_id = record.headers, record.key, record.event_id
        type_id, at = headers.get("activity_type_id"), headers.get("ce_time")
        if type_id is not None and at is not None and key_bytes and event_id:
            key = key_bytes.decode()
            activity = _new_tuple(Activity, (int(type_id), event_time_s(at.decode())))
        else:
            key, event_id, activity = self._activity_from_value(record)
        leads = self._leads.get(part)
        if leads is None:
            leads = self._leads[part] = _Leads()
            self._pending[part] = _Pending()
        # The hot path reads and writes _Leads' two maps directly (no LeadScore is built).
        held, all_counts = leads.held, leads.counts
        state = held.get(key)
        if state is None:
            features, events, emitted, emitted_at_s = NO_FEATURES, 0, None, 0.0
        else:
            decayed, decayed_at_s, events, through, _, emitted, emitted_at_s = state
            if record.offset <= through:
                return  # already in the state restored from the lead-scores topic
            features = _new_tuple(Features, (decayed, decayed_at_s, all_counts[key]))
        model = self._model
        features = model.apply(features, activity)
        score = model.score(features)
        emit = abs(score - (emitted or 0.0)) >= self._threshold
        if emit:
            emitted, emitted_at_s = score, activity.at_s
        decayed, decayed_at_s, counts = features
        held[key] = (
            decayed,
            decayed_at_s,
            events + 1,
            record.offset,
            event_id,
            emitted,
            emitted_at_s,
        )
        all_counts[key] = counts
        pending = self._pending[part]
        entry = (part, key)
        if emit:
            self._outbox.add(entry)
            pending.clear(key)
        elif key not in pending.first and entry not in self._outbox:
            pending.touch(key, record.offset, self._monotonic())

    @staticmethod
    def _activity_from_value(record: Record) -> tuple[str, str, Activity]:
        """(lead key, event id, activity) from the JSON value: records without the headers."""
        doc = record.document()
        activity = Activity(activity_type(doc["data"]), event_time_s(doc["time"]))
        return f"{doc['munchkinid']}:{doc['subject']}", doc["id"], activity

    def replay(self, record: Record) -> None:
        return None

    # ---- I/O ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        emitted = sorted(self._outbox)
        cutoff = self._monotonic() - self._checkpoint_s
        checkpoints = []
        for part, pending in self._pending.items():
            keys = list(pending.first) if part in self._releasing else pending.due(cutoff)
            checkpoints += [(part, k) for k in keys if (part, k) not in self._outbox]
        if not emitted and not checkpoints:
            return
        model, topic = self._model, self._topic
        records = [
            score_record(p, k, self._leads[p].state(k), "emitted", model, topic) for p, k in emitted
        ]
        records += [
            score_record(p, k, self._leads[p].state(k), "checkpoint", model, topic)
            for p, k in checkpoints
        ]
        await self._publisher.publish(records)
        for part, key in emitted + checkpoints:
            self._pending[part].clear(key)
        self._outbox.clear()
        self._count(emitted, len(checkpoints))
        if self._pusher is not None and emitted:
            pushes = []
            for part, key in emitted:
                munchkin, _, lead = key.partition(":")
                pushes.append((munchkin, lead, self._leads[part].state(key).emitted or 0.0))
            await self._pusher.push(pushes)

    def _count(self, emitted: list[tuple[Partition, str]], checkpoints: int) -> None:
        scores = self._metrics.scores
        if emitted:
            scores.labels(self._model.name, "emitted").inc(len(emitted))
            now = self._clock()
            freshness = self._metrics.freshness.labels("score")
            for part, key in emitted:
                emitted_at_s = self._leads[part].held[key][-1]  # Held ends with emitted_at_s
                freshness.observe(max(0.0, now - emitted_at_s))
        if checkpoints:
            scores.labels(self._model.name, "checkpoint").inc(checkpoints)
        self._metrics.leads.set(sum(len(v) for v in self._leads.values()))

    def pending_offset(self, partition: Partition) -> int | None:
        pending = self._pending.get(partition)
        return pending.lowest() if pending else None

    async def release(self, partitions: Sequence[Partition]) -> None:
        self._releasing = set(partitions)
        try:
            await self.flush()
        finally:
            self._releasing = set()

    def forget(self, partitions: Collection[Partition]) -> None:
        for p in partitions:
            self._leads.pop(p, None)
            self._pending.pop(p, None)
        self._outbox = {(p, k) for p, k in self._outbox if p not in partitions}
        self._metrics.leads.set(sum(len(v) for v in self._leads.values()))

    async def restore(self, partitions: Sequence[Partition], reader: Reader) -> None:
        """The latest state per lead from the lead-scores partition of the same number."""
        changelog = {Partition(self._topic, p.partition): p for p in partitions}
        starts = await reader.offsets_since(list(changelog), 0)
        ends = await reader.end_offsets(list(changelog))
        for part in partitions:
            self._leads[part] = _Leads()
            self._pending[part] = _Pending()
        read = 0
        async for records in reader.read({p: (starts[p], ends[p]) for p in changelog}):
            leads = self._leads[changelog[records[0].partition]]
            for r in records:
                key = (r.key or b"").decode()
                if r.value is None:
                    leads.pop(key)
                else:
                    leads.put(key, state_from_json(orjson.loads(r.value)))
            read += len(records)
        self._metrics.leads.set(sum(len(v) for v in self._leads.values()))
        log.info(
            "scoring: restored %d lead(s) from %d record(s)",
            sum(len(self._leads[p]) for p in partitions),
            read,
        )

    async def tick(self, now_s: float) -> None:
        return None  # checkpoints are written by flush, which follows every batch and tick
