"""The alerting worker's handler: records → rule engines → ``<prefix>.alerts`` → sinks.

Per input partition one ``RuleEngine`` (rules.py/engine.py); a record is decoded only when its
headers (stream, event type) make some rule a candidate, and, for the second step of a sequence
rule (an email sent after an unsubscribe), only when a first step waits under its key (read from
the headers too), so most records cost no JSON at all.
``SilenceWatch`` sees every record's tenant and fires on ticks.

Exactly-once alerts: the loop skips ids already handled; an alert id is derived from its trigger,
and ids already fired are remembered (bounded) and rebuilt on restore from the partition's replay
*and* from the alerts topic, so an alert fired just before a crash is not fired again when its
records are handled a second time. The log sink runs after the alerts are on Kafka; their other
effects are the effects role's, read back from the alerts topic (``effects.py``).
"""

import logging
import time
from collections.abc import Callable, Collection, Sequence

import orjson

from pipeline.consume.event_time import event_time_s
from pipeline.consume.handler import Reader
from pipeline.consume.record import Partition, Record
from pipeline.envelope import format_epoch_s
from pipeline.publish import Publisher
from pipeline.topics import Headers, OutboundRecord
from pipeline.workers.alerting.engine import Alert, Bounded, RuleEngine, SilenceWatch
from pipeline.workers.alerting.rules import RuleSet
from pipeline.workers.alerting.sinks import AlertSink
from pipeline.workers.history import read_since
from pipeline.workers.metrics import WorkerMetrics

log = logging.getLogger(__name__)

FIRED_MEMORY = 200_000
FIRED_LOOKBACK_S = 25 * 3600.0


def alert_record(alert: Alert, source: Partition, topic: str, fired_at_s: float) -> OutboundRecord:
    doc = {
        "id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity.value,
        "key": alert.key,
        "munchkinId": alert.munchkinid,
        "summary": alert.summary,
        "evidence": list(alert.evidence),
        "count": alert.count,
        "firstSeen": format_epoch_s(alert.first_seen_s),
        "lastSeen": format_epoch_s(alert.last_seen_s),
        "firedAt": format_epoch_s(fired_at_s),
        "leadId": alert.lead_id,
        "addToList": alert.add_to_list,
        "source": str(source),
    }
    headers: Headers = (
        ("ce_id", alert.id.encode()),
        ("content-type", b"application/json"),
        ("rule", alert.rule.encode()),
        ("severity", alert.severity.value.encode()),
        ("munchkin_id", alert.munchkinid.encode()),
        ("source", str(source).encode()),
    )
    return OutboundRecord(
        topic,
        f"{alert.rule}:{alert.key}".encode(),
        orjson.dumps(doc),
        headers,
        int(fired_at_s * 1000),
    )


def header_fields(record: Record) -> dict[str, str] | None:
    """The envelope fields a record's headers carry (``engine.HEADER_FIELDS``); None for a record
    without ``ce_subject`` (written before the ingress added it, or an event without subject)."""
    subject = record.ce_subject
    if not subject or not record.event_id or not record.munchkin_id:
        return None
    return {
        "id": record.event_id,
        "munchkinid": record.munchkin_id,
        "subject": subject.decode("utf-8", "replace"),
        "stream": record.stream,
        "eventtype": record.event_type,
    }


class AlertingHandler:
    def __init__(
        self,
        *,
        rules: RuleSet,
        alerts_topic: str,
        publisher: Publisher,
        sinks: Sequence[AlertSink],
        metrics: WorkerMetrics,
        max_keys_per_rule: int,
        restore_horizon_s: float,
        lateness_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rules = rules
        self._topic = alerts_topic
        self._publisher = publisher
        self._sinks = sinks
        self._metrics = metrics
        self._max_keys = max_keys_per_rule
        self._lateness_s = lateness_s
        self._clock = clock
        self._engines: dict[Partition, RuleEngine] = {}
        # the partition of the last record handled and its engine (records come in runs of one
        # partition); the engine here is a placeholder until the first record
        self._part: Partition | None = None
        self._engine = RuleEngine(rules)
        self._silence = SilenceWatch(rules, clock())
        self._watch_silence = self._silence.active
        self._fired: Bounded[str, bool] = Bounded(FIRED_MEMORY)
        self._outbox: list[tuple[Alert, Partition]] = []
        # The records of the outbox's first alerts, as a failed flush built them: a retry
        # writes the same records (``firedAt``, timestamp), not new ones stamped later.
        self._built: list[OutboundRecord] = []
        self.replay_horizon_s = min(rules.horizon_s, restore_horizon_s)

    # ---- per record -------------------------------------------------------------------------

    def _observe(self, record: Record) -> Sequence[Alert]:
        part, stream = record.partition, record.stream
        if self._watch_silence:
            at_s = record.timestamp_ms / 1000
            self._silence.seen(part, record.munchkin_id, stream, at_s, record.event_id)
        engine = self._engine if part is self._part else self._select(part)
        candidates, followers_only = engine.route(stream, record.event_type)
        if not candidates:
            return ()
        if followers_only:
            head = header_fields(record)
            if head is not None and not engine.awaited(candidates, head):
                return ()
        doc = record.document()
        return engine.observe(doc, event_time_s(doc["time"]), candidates)

    def _select(self, part: Partition) -> RuleEngine:
        engine = self._engines.get(part)
        if engine is None:
            engine = self._engines[part] = RuleEngine(self._rules, self._max_keys, self._lateness_s)
        self._part, self._engine = part, engine
        return engine

    def handle(self, record: Record) -> None:
        alerts = self._observe(record)
        if alerts:
            for alert in alerts:
                self._emit(alert, record.partition)

    def replay(self, record: Record) -> None:
        for alert in self._observe(record):  # fired when the record was first handled
            self._fired.set(alert.id, True)

    def _emit(self, alert: Alert, source: Partition) -> None:
        if self._fired.get(alert.id):
            self._metrics.alerts_suppressed.labels(alert.rule).inc()
            return
        self._fired.set(alert.id, True)
        self._outbox.append((alert, source))

    # ---- I/O ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        if not self._outbox:
            return
        now = self._clock()
        built = self._built
        built += [alert_record(a, p, self._topic, now) for a, p in self._outbox[len(built) :]]
        await self._publisher.publish(list(built))
        alerts = [a for a, _ in self._outbox]
        self._outbox.clear()
        built.clear()
        for a in alerts:
            self._metrics.alerts.labels(a.rule, a.severity.value).inc()
            if a.count:  # silence alerts have no triggering event
                self._metrics.freshness.labels("alert").observe(max(0.0, now - a.last_seen_s))
        for sink in self._sinks:
            await sink.deliver(alerts)

    def pending_offset(self, partition: Partition) -> int | None:
        return None  # alerts are durable once flushed

    async def restore(self, partitions: Sequence[Partition], reader: Reader) -> None:
        """Remember the alerts fired lately (ids are derived from triggers, so remembering all of
        them is exact); an alert fired just before a crash is then not fired again."""
        since_ms = int((self._clock() - FIRED_LOOKBACK_S) * 1000)
        found = 0
        async for records in read_since(reader, self._topic, since_ms):
            for r in records:
                if r.event_id:
                    self._fired.set(r.event_id, True)
                    found += 1
        log.info("alerting: %d alert(s) fired in the last %.0f h", found, FIRED_LOOKBACK_S / 3600)

    async def release(self, partitions: Sequence[Partition]) -> None:
        return None

    def forget(self, partitions: Collection[Partition]) -> None:
        for p in partitions:
            self._engines.pop(p, None)
        self._part = None
        self._silence.forget(partitions)

    async def tick(self, now_s: float) -> None:
        for engine in self._engines.values():
            engine.sweep()
        if self._silence.active and self._engines:
            for alert in self._silence.check(now_s):
                self._emit(alert, min(self._engines))
