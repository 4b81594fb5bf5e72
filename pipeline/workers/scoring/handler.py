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

Crossings (``crossings.py``): with thresholds configured for a lead's tenant, every new score is
compared with them in record order; a crossing is written to ``<prefix>.score-crossings`` (before
the scores of the same flush, so a crossing whose score is on Kafka is there too) and forces an
``emitted`` record that carries the thresholds the lead is now above.

Restore (a partition arrives): read the same-numbered lead-scores partition, latest record per
lead. Records after the committed offset are then handled again; an activity whose offset is at
or below its lead's ``through`` is already in the state and is skipped, so every activity counts
once and a restart or rebalance ends with the scores of an uninterrupted run. Upstream duplicates
(same id, different offsets) are skipped by the loop's id memory.
"""

import logging
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import orjson

from pipeline.consume.event_time import ce_time_s
from pipeline.consume.handler import RawPath, Reader
from pipeline.consume.record import Partition, Record
from pipeline.publish import Publisher
from pipeline.topics import OutboundRecord
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.crossings import Crossings
from pipeline.workers.scoring.models import ScoringModel
from pipeline.workers.scoring.records import (
    Crossed,
    activity_from_value,
    crossing_record,
    score_record,
    state_from_json,
    type_number_of,
    type_numbers,
)
from pipeline.workers.scoring.state import Held, Leads, LeadScore, Pending

log = logging.getLogger(__name__)


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
        crossings: Crossings | None = None,
        crossings_topic: str = "",
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = model
        self._threshold = emit_threshold
        self._checkpoint_s = checkpoint_interval_s
        self._topic = scores_topic
        self._publisher = publisher
        self._metrics = metrics
        self._crossings = crossings
        self._crossings_topic = crossings_topic
        self._clock = clock
        self._monotonic = monotonic
        self._step = model.step
        self._leads: dict[Partition, Leads] = {}
        self._pending: dict[Partition, Pending] = {}
        # the thresholds each lead is above, for the (few) leads above any
        self._above: dict[Partition, dict[str, frozenset[str]]] = {}
        # per partition, the leads whose score is to be emitted at the next flush
        self._outbox: dict[Partition, set[str]] = {}
        self._crossed: list[Crossed] = []
        self._releasing: set[Partition] = set()
        # The maps of the partition of the last record handled (records come in runs of one
        # partition): looked up again only when the partition changes (``_select``).
        self._part: Partition | None = None
        self._held: dict[str, Held] = {}
        self._counts: dict[str, dict[int, int]] = {}
        self._first: dict[str, tuple[int, float]] = {}
        self._emitting: set[str] = set()

    def scores(self, partition: Partition) -> dict[str, LeadScore]:
        leads = self._leads.get(partition)
        return {k: self._state(partition, k) for k in leads.held} if leads is not None else {}

    def _state(self, partition: Partition, key: str) -> LeadScore:
        state = self._leads[partition].state(key)
        above = self._above.get(partition, {}).get(key)
        return state._replace(above=above) if above else state

    def put(self, partition: Partition, key: str, state: LeadScore) -> None:
        """Hold ``state`` for a lead, as restored from the lead-scores topic."""
        self._partition_state(partition).put(key, state)
        if state.above:
            self._above.setdefault(partition, {})[key] = state.above

    def _partition_state(self, part: Partition) -> Leads:
        leads = self._leads.get(part)
        if leads is None:
            leads = self._leads[part] = Leads()
            self._pending[part] = Pending()
            self._outbox[part] = set()
        return leads

    def _select(self, part: Partition) -> None:
        leads = self._partition_state(part)
        self._part, self._held, self._counts = part, leads.held, leads.counts
        self._first, self._emitting = self._pending[part].first, self._outbox[part]

    # ---- per record -------------------------------------------------------------------------

    def handle(self, record: Record) -> None:
        if record.stream != "lead-activity":
            return
        part = record.partition
        if part is not self._part:
            self._select(part)
        # The lead key, type and time come from the record's key and headers, which the ingress
        # writes (``activity_type_id``, ``ce_time``); from the JSON value for older records.
        key_bytes, event_id = record.key, record.event_id
        type_id, at = record.activity_type_id, record.ce_time
        if type_id is not None and at is not None and key_bytes and event_id:
            type_number = type_numbers.get(type_id)
            if type_number is None:
                type_number = type_number_of(type_id)
            key, at_s = key_bytes.decode(), ce_time_s(at)
        else:
            key, event_id, (type_number, at_s) = activity_from_value(record)
        self._score(part, key, event_id, type_number, at_s, record.offset)

    def _score(
        self, part: Partition, key: str, event_id: str, type_number: int, at_s: float, offset: int
    ) -> None:
        """One activity into its lead's score, from what ``handle`` and ``handle_run`` read.

        The hot path works on the partition's maps directly (no LeadScore, no Features): the
        lead's tuple, and its counts dict, which the model counts into in place."""
        held = self._held
        state = held.get(key)
        if state is None:
            counts: dict[int, int] = {}
            decayed, decayed_at_s, events, emitted, emitted_at_s = 0.0, 0.0, 0, None, 0.0
        else:
            decayed, decayed_at_s, events, through, _, emitted, emitted_at_s = state
            if offset <= through:
                return  # already in the state restored from the lead-scores topic
            counts = self._counts[key]
        decayed, decayed_at_s, score = self._step(decayed, decayed_at_s, counts, type_number, at_s)
        emit = abs(score - (emitted or 0.0)) >= self._threshold
        crossings = self._crossings
        if crossings is not None:
            tenant = key[: key.find(":")]
            if tenant in crossings.by_tenant:
                emit = self._cross(part, key, tenant, score, at_s, event_id) or emit
        if emit:
            emitted, emitted_at_s = score, at_s
        held[key] = (decayed, decayed_at_s, events + 1, offset, event_id, emitted, emitted_at_s)
        if state is None:
            self._counts[key] = counts
        if emit:
            self._emitting.add(key)
            self._first.pop(key, None)
        elif key not in self._first and key not in self._emitting:
            self._first[key] = (offset, self._monotonic())

    def handle_run(
        self,
        part: Partition,
        raws: Sequence[Any],
        remember: Callable[[str, float], bool],
        path: RawPath,
    ) -> int:
        """``handle`` over a partition's run of raw records, as the loop would call it, without
        a ``Record`` for the activities the ingress wrote (headers ``content-type``, ``ce_id``,
        ``ce_time``, ``event_type``, ``ce_subject``, ``activity_type_id``, by position; anything
        else goes the loop's own way, ``path.one``). Building the record, with the tenant and
        event type it decodes and scoring never reads, cost about as much as scoring it
        (``tests/pipeline/workers/scoring/test_run.py`` holds the two ways equal)."""
        one = path.one
        if path.stream != "lead-activity":
            return sum(not one(raw) for raw in raws)
        if part is not self._part:
            self._select(part)
        failed, score = path.failed, self._score
        duplicates = 0
        for raw in raws:
            key_bytes = raw.key
            try:  # unpacked in one step: about half the cost of indexing each header
                (n0, _), (n1, event_bytes), (n2, at), (n3, _), (n4, _), (n5, type_id) = raw.headers
            except (TypeError, ValueError):  # not six headers of (name, value)
                n0 = None  # first below: the other names may be a previous record's
            if not (
                n0 == "content-type"
                and n1 == "ce_id"
                and n2 == "ce_time"
                and n5 == "activity_type_id"
                and n4 == "ce_subject"
                and n3 == "event_type"
                and key_bytes
                and event_bytes
                and at is not None
                and type_id is not None
            ):
                if not one(raw):
                    duplicates += 1
                continue
            event_id = event_bytes.decode("utf-8", "replace")
            if not remember(event_id, raw.timestamp / 1000):
                duplicates += 1
                continue
            try:  # what handle does from here on
                type_number = type_numbers.get(type_id)
                if type_number is None:
                    type_number = type_number_of(type_id)
                key, at_s = key_bytes.decode(), ce_time_s(at)
                score(part, key, event_id, type_number, at_s, raw.offset)
            except Exception as exc:
                failed(raw, exc)
        return duplicates

    def _cross(
        self, part: Partition, key: str, tenant: str, score: float, at_s: float, event_id: str
    ) -> bool:
        """Compare a new score with its tenant's thresholds; whether it crossed any."""
        assert self._crossings is not None
        above = self._above.setdefault(part, {})
        now, crossed = self._crossings.cross(tenant, above.get(key, frozenset()), score)
        if now:
            above[key] = now
        else:
            above.pop(key, None)
        for c in crossed:
            self._crossed.append(Crossed(part, key, c, score, at_s, event_id))
        return bool(crossed)

    def replay(self, record: Record) -> None:
        return None

    # ---- I/O ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        if self._crossed:
            # Before the scores: a score on Kafka means its crossing is too. A crash between
            # the two decides the crossing again, under the same id (the effects role skips it).
            topic = self._crossings_topic
            crossed = [crossing_record(c, self._model, topic) for c in self._crossed]
            await self._publisher.publish(crossed)
            self._crossed = []
        emitted = sorted((p, k) for p, keys in self._outbox.items() for k in keys)
        cutoff = self._monotonic() - self._checkpoint_s
        checkpoints = []
        for part, pending in self._pending.items():
            keys = list(pending.first) if part in self._releasing else pending.due(cutoff)
            emitting = self._outbox[part]
            checkpoints += [(part, k) for k in keys if k not in emitting]
        if not emitted and not checkpoints:
            return
        records = [self._score_record(p, k, "emitted") for p, k in emitted]
        records += [self._score_record(p, k, "checkpoint") for p, k in checkpoints]
        await self._publisher.publish(records)
        for part, key in emitted + checkpoints:
            self._pending[part].clear(key)
        for emitting in self._outbox.values():
            emitting.clear()  # in place: _select holds one of these sets
        self._count(emitted, len(checkpoints))

    def _score_record(self, part: Partition, key: str, update: str) -> OutboundRecord:
        leads, above = self._leads[part], self._above.get(part)
        return score_record(
            part,
            key,
            leads.held[key],
            leads.counts[key],
            above.get(key, frozenset()) if above else frozenset(),
            update,
            self._model,
            self._topic,
        )

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
            self._above.pop(p, None)
            self._outbox.pop(p, None)
        self._part = None
        self._crossed = [c for c in self._crossed if c.part not in partitions]
        self._metrics.leads.set(sum(len(v) for v in self._leads.values()))

    async def restore(self, partitions: Sequence[Partition], reader: Reader) -> None:
        """The latest state per lead from the lead-scores partition of the same number."""
        changelog = {Partition(self._topic, p.partition): p for p in partitions}
        starts = await reader.offsets_since(list(changelog), 0)
        ends = await reader.end_offsets(list(changelog))
        for part in partitions:
            self._leads[part] = Leads()
            self._pending[part] = Pending()
            self._outbox[part] = set()
            self._above[part] = {}
        self._part = None
        read = 0
        async for records in reader.read({p: (starts[p], ends[p]) for p in changelog}):
            part = changelog[records[0].partition]
            leads, above = self._leads[part], self._above[part]
            for r in records:
                key = (r.key or b"").decode()
                if r.value is None:
                    leads.pop(key)
                    above.pop(key, None)
                    continue
                state = state_from_json(orjson.loads(r.value))
                leads.put(key, state)
                if state.above:
                    above[key] = state.above
                else:
                    above.pop(key, None)
            read += len(records)
        self._metrics.leads.set(sum(len(v) for v in self._leads.values()))
        log.info(
            "scoring: restored %d lead(s) from %d record(s)",
            sum(len(self._leads[p]) for p in partitions),
            read,
        )

    async def tick(self, now_s: float) -> None:
        return None  # checkpoints are written by flush, which follows every batch and tick
