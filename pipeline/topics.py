"""The Kafka topics, their keys and headers, and ``route``: where an event goes.

Ten topics, named ``<prefix>.<name>``. Keys start with the munchkin ID and keep one subject's
events together. The ingress writes four (``Topics``):

* lead activity   ``<munchkinId>:<leadId>``                       a lead's events share a partition
* user audit      ``<munchkinId>:<componentType>:<componentId>``  one asset's history in order
* notification    ``<munchkinId>:<eventtype>``
* dead letter     ``<munchkinId>`` (or ``unknown``); the workers write theirs here too

The workers write five more (``WorkerTopics``):

* alerts          ``<rule>:<alert key>``; value: the alert as JSON
* lead scores     compacted; key ``<munchkinId>:<leadId>`` (the lead-activity key, so with the
                  same partition count a lead's score lives in the partition number of its
                  activities); value: the score and the state it came from. It is the scoring
                  worker's output *and* its changelog.
* score crossings ``<munchkinId>:<leadId>`` in its activity's partition number; value: a lead's
                  score crossing a threshold up or down, and the Marketo actions it asks for
* sink dead letter  the source record's key; value: the record (an alert, a score, a crossing)
                  whose effect ran out of retries; headers name the sink, the effect's
                  idempotency key and why. ``datastreams redrive-effects`` delivers them again.
* effects ledger  compacted, kept a week; key: the idempotency key of an effect that is not
                  idempotent by nature (a campaign request), written once it was delivered,
                  so a redelivery after a crash skips it

The recovery commands (``datastreams journal``, ``backfill``) keep their cursors in one more
(``recovery_cursor_topic``):

* recovery cursors  compacted, one partition; key ``journal:<registration>`` or
                    ``marketo:<munchkinId>:<range>:<part>``; value: the cursor as JSON

Records follow the CloudEvents Kafka binding in structured mode: the value is the whole envelope
and ``content-type`` says so. A few attributes are repeated as headers so that consumers can
route, deduplicate and score without decoding the value: ``ce_id``, ``ce_time``, ``event_type``,
``ce_subject`` and, on lead activities, ``activity_type_id`` (``data.activityTypeId``).

Nothing else is repeated: the tenant is the key's first segment and the stream is the topic
(``stream_of_topic``). Every header costs each Python consumer about 0.7 µs per record (aiokafka
builds three objects per header): a bare consumer here read 78,000 records/s with the 11 headers
written before 2026-11-29 (spec version, source, type, tenant and stream too), 144,000 with 4.
"""

import functools
import time
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from pipeline.envelope import CONTENT_TYPE, DeadLetter, Envelope, Stream
from pipeline.settings import HOURS, TopicSettings

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str]


_STREAM_FIELD = {
    Stream.LEAD_ACTIVITY: "lead_activity",
    Stream.USER_AUDIT: "user_audit",
    Stream.NOTIFICATION: "notification",
}


@dataclass(frozen=True)
class Topics:
    lead_activity: Topic
    user_audit: Topic
    notification: Topic
    dead_letter: Topic

    def all(self) -> tuple[Topic, ...]:
        return (self.lead_activity, self.user_audit, self.notification, self.dead_letter)

    def for_stream(self, stream: Stream) -> Topic:
        topic: Topic = getattr(self, _STREAM_FIELD[stream])
        return topic


@dataclass(frozen=True)
class WorkerTopics:
    inputs: Topics
    alerts: Topic
    lead_scores: Topic
    score_crossings: Topic
    sink_dead_letter: Topic
    effects_ledger: Topic

    def outputs(self) -> tuple[Topic, ...]:
        return (
            self.alerts,
            self.lead_scores,
            self.score_crossings,
            self.sink_dead_letter,
            self.effects_ledger,
        )


class OutboundRecord(NamedTuple):
    # A NamedTuple rather than a frozen dataclass: one is built per event on the ingress' hot
    # path, and a frozen dataclass' __init__ costs several times a tuple's.
    topic: str
    key: bytes
    value: bytes
    headers: Headers
    timestamp_ms: int
    # None: the partition the Java client's default partitioner picks for the key. A writer that
    # knows the partition already (scores: their activity's) names it and skips the hashing.
    partition: int | None = None


def build_topics(settings: TopicSettings, max_record_bytes: int) -> Topics:
    config = {
        "retention.ms": str(int(settings.retention_hours * HOURS * 1000)),
        "max.message.bytes": str(max_record_bytes),
    }
    if settings.min_insync_replicas is not None:
        config["min.insync.replicas"] = str(settings.min_insync_replicas)

    def topic(suffix: str) -> Topic:
        name = f"{settings.prefix}.{suffix}"
        return Topic(name, settings.partitions, settings.replication_factor, dict(config))

    return Topics(
        lead_activity=topic("lead-activity"),
        user_audit=topic("user-audit"),
        notification=topic("notification"),
        dead_letter=topic("dead-letter"),
    )


def build_worker_topics(settings: TopicSettings, max_record_bytes: int) -> WorkerTopics:
    inputs = build_topics(settings, max_record_bytes)

    def kept(suffix: str) -> Topic:  # retained as long as the dead-letter topic
        return Topic(
            name=f"{settings.prefix}.{suffix}",
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config=dict(inputs.dead_letter.config),
        )

    compacted = {
        "cleanup.policy": "compact",
        "max.message.bytes": str(max_record_bytes),
        # compact the changelog within hours, so a restore reads about one record per lead
        "segment.ms": str(int(6 * HOURS * 1000)),
        "min.cleanable.dirty.ratio": "0.1",
        "delete.retention.ms": str(int(24 * HOURS * 1000)),
    }
    if settings.min_insync_replicas is not None:
        compacted["min.insync.replicas"] = str(settings.min_insync_replicas)
    lead_scores = Topic(
        name=f"{settings.prefix}.lead-scores",
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        config=compacted,
    )
    # one record per delivered key, forgotten after a week (redeliveries come within hours)
    ledger_config = {**compacted, "cleanup.policy": "compact,delete"}
    ledger_config["retention.ms"] = str(int(7 * 24 * HOURS * 1000))
    ledger = replace(
        lead_scores, name=f"{settings.prefix}.effects-ledger", partitions=1, config=ledger_config
    )
    return WorkerTopics(
        inputs=inputs,
        alerts=kept("alerts"),
        lead_scores=lead_scores,
        score_crossings=kept("score-crossings"),
        sink_dead_letter=kept("sink-dead-letter"),
        effects_ledger=ledger,
    )


RECOVERY_CURSORS = "recovery-cursors"


def recovery_cursor_topic(settings: TopicSettings) -> Topic:
    """Where the journal and the backfill keep how far they got: compacted, so the latest cursor
    per key is kept for ever, and one partition, so a run reads every cursor in order."""
    config = {"cleanup.policy": "compact", "segment.ms": str(int(6 * HOURS * 1000))}
    if settings.min_insync_replicas is not None:
        config["min.insync.replicas"] = str(settings.min_insync_replicas)
    return Topic(f"{settings.prefix}.{RECOVERY_CURSORS}", 1, settings.replication_factor, config)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def partition_key(envelope: Envelope) -> str:
    munchkin = envelope.munchkinid
    if envelope.stream is Stream.LEAD_ACTIVITY:
        return f"{munchkin}:{envelope.subject}"
    if envelope.stream is Stream.USER_AUDIT:
        data = envelope.data
        return f"{munchkin}:{_text(data.get('componentType'))}:{envelope.subject}"
    return f"{munchkin}:{envelope.eventtype}"


_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())
_STREAMS = frozenset(s.value for s in Stream)


@functools.lru_cache(maxsize=4096)
def _event_type_header(eventtype: str) -> tuple[str, bytes]:
    return ("event_type", eventtype.encode())


@functools.lru_cache(maxsize=4096)
def _activity_type_header(type_id: int) -> tuple[str, bytes]:
    return ("activity_type_id", str(type_id).encode())


def envelope_headers(envelope: Envelope) -> Headers:
    type_id = envelope.data.get("activityTypeId")
    lead_activity = type(type_id) is int and envelope.stream is Stream.LEAD_ACTIVITY
    return record_headers(
        envelope.id,
        envelope.time,
        envelope.eventtype,
        envelope.subject,
        type_id if lead_activity else None,
    )


def record_headers(
    ce_id: str, ce_time: str, eventtype: str, subject: str, activity_type_id: int | None
) -> Headers:
    """The headers of an envelope's record (``activity_type_id``: of a lead activity only).
    Runs once per event on the ingress' hot path: headers that repeat across events are built
    once and cached, and the tuple is made in one step."""
    id_header = ("ce_id", ce_id.encode())
    time_header = ("ce_time", ce_time.encode())
    type_header = _event_type_header(eventtype)
    if not subject:
        if activity_type_id is None:
            return (_CONTENT_TYPE_HEADER, id_header, time_header, type_header)
        activity = _activity_type_header(activity_type_id)
        return (_CONTENT_TYPE_HEADER, id_header, time_header, type_header, activity)
    subject_header = ("ce_subject", subject.encode())
    if activity_type_id is None:
        return (_CONTENT_TYPE_HEADER, id_header, time_header, type_header, subject_header)
    activity = _activity_type_header(activity_type_id)
    return (_CONTENT_TYPE_HEADER, id_header, time_header, type_header, subject_header, activity)


@functools.lru_cache(maxsize=1024)
def stream_of_topic(topic: str) -> str:
    """The stream an envelope topic carries (``build_topics`` names it ``<prefix>.<stream>``);
    "" for any other topic."""
    suffix = topic.rpartition(".")[2]
    return suffix if suffix in _STREAMS else ""


def route(envelope: Envelope, topics: Topics) -> OutboundRecord:
    return OutboundRecord(
        topic=topics.for_stream(envelope.stream).name,
        key=partition_key(envelope).encode(),
        value=envelope.to_json(),
        headers=envelope_headers(envelope),
        timestamp_ms=int(time.time() * 1000),
    )


def route_dead_letter(
    letter: DeadLetter, topics: Topics, principal: str | None = None
) -> OutboundRecord:
    """``principal``: the credential that delivered it (``push:<munchkin>``, ``adobe:<client>``),
    so that a redrive puts it through the same tenant gate."""
    munchkin = letter.munchkinid or "unknown"
    headers: Headers = (
        ("ce_id", letter.id.encode()),
        ("dl_reason", letter.reason.encode()),
        ("dl_detail", letter.detail.encode(errors="replace")[:1024]),
        ("munchkin_id", munchkin.encode()),
        ("stream", (letter.stream.value if letter.stream else "unknown").encode()),
        ("via", letter.via.value.encode()),
        ("received_at", letter.receivedat.encode()),
    )
    if principal is not None:
        headers += (("dl_principal", principal.encode()),)
    return OutboundRecord(
        topic=topics.dead_letter.name,
        key=munchkin.encode(),
        value=letter.raw,
        headers=headers,
        timestamp_ms=int(time.time() * 1000),
    )
