"""One Kafka record as the loop hands it to a handler, and the decoders of its value.

A ``Record`` is built from the headers alone (id, tenant, stream, event type, and the raw values
of the headers the workers read: ``ce_time``, ``ce_subject``, ``activity_type_id``); the JSON
value is decoded only when a handler asks (``document`` or ``envelope``). What cannot be decoded
raises ``UnusableInput``, which the loop turns into a dead letter with the reason.
"""

from typing import Any, NamedTuple

import orjson

from pipeline.envelope import Envelope
from pipeline.errors import UnusableInput
from pipeline.topics import Headers, stream_of_topic


class Partition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}"


class Record(NamedTuple):
    """One Kafka record as the loop hands it over: the envelope headers read, the value not yet
    decoded (a handler decodes only what it needs). A NamedTuple, not a frozen dataclass: one is
    built per record on the hot path."""

    partition: Partition
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Headers  # as Kafka has them, in order (``header`` reads one)
    event_id: str  # ce_id: the envelope id, the same on every copy of the event
    munchkin_id: str
    stream: str
    event_type: str
    ce_time: bytes | None = None  # the envelope's time (``event_time.ce_time_s``)
    ce_subject: bytes | None = None
    activity_type_id: bytes | None = None  # data.activityTypeId of a lead activity

    def envelope(self) -> Envelope:
        return decode_envelope(self)

    def document(self) -> dict[str, Any]:
        return decode_document(self)


def header(headers: Headers, name: str) -> bytes | None:
    """The value of header ``name`` (the last one, if the record has it twice), or None."""
    found = None
    for n, value in headers:
        if n == name:
            found = value
    return found


_new_tuple = tuple.__new__


def to_record(partition: Partition, raw: Any, stream: str | None = None) -> Record:
    """An aiokafka ``ConsumerRecord`` → ``Record``; ``stream``: the partition's topic's
    (``stream_of_topic``), when the caller has looked it up once for many records.

    This runs for every record. Headers in the order the ingress writes them
    (``pipeline.topics.record_headers``: ``content-type``, ``ce_id``, ``ce_time``,
    ``event_type``, then ``ce_subject`` and ``activity_type_id`` if any) are read by position,
    checking every name: building a dict of them cost more than the rest of the record (each
    header is three objects scattered in memory, and a dict touches all of them). Any other
    headers go through a dict (``_to_record``), with the same result
    (``tests/pipeline/consume/test_record.py``). The tuple is built directly (a NamedTuple's own
    ``__new__`` is a Python function, twice as slow)."""
    hs = raw.headers
    n = len(hs)
    if not (
        3 < n < 7
        and hs[1][0] == "ce_id"
        and hs[2][0] == "ce_time"
        and hs[3][0] == "event_type"
        and hs[0][0] == "content-type"
    ):
        return _to_record(partition, raw, stream)
    subject = type_id = None
    if n > 4:
        name, value = hs[4]
        if name == "ce_subject":
            subject = value
            if n == 6:
                name, type_id = hs[5]
                if name != "activity_type_id":
                    return _to_record(partition, raw, stream)
        elif name == "activity_type_id" and n == 5:
            type_id = value
        else:
            return _to_record(partition, raw, stream)
    key = raw.key
    if key:  # the tenant: the key's first segment, as key.partition(b":")[0] (fewer objects)
        cut = key.find(b":")
        tenant = key if cut < 0 else key[:cut]
    else:
        tenant = key
    fields = (
        partition,
        raw.offset,
        raw.timestamp,
        key,
        raw.value,
        hs,
        v.decode("utf-8", "replace") if (v := hs[1][1]) else "",
        (_texts.get(tenant) or _text(tenant)) if tenant else "",
        stream_of_topic(partition.topic) if stream is None else stream,
        (_texts.get(v) or _text(v)) if (v := hs[3][1]) else "",
        hs[2][1],
        subject,
        type_id,
    )
    return _new_tuple(Record, fields)


# Tenants and event types repeat from record to record: each is decoded once, and the same str
# then serves every record (whose hash is then computed once, too). Bounded: past that many,
# values are decoded each time.
_TEXTS_KEPT = 10_000
_texts: dict[bytes, str] = {}


def _text(value: bytes) -> str:
    text = value.decode("utf-8", "replace")
    if len(_texts) < _TEXTS_KEPT:
        _texts[value] = text
    return text


def _to_record(partition: Partition, raw: Any, stream: str | None) -> Record:
    """``to_record`` for any headers: through a dict (a name given twice: its last value)."""
    h = dict(raw.headers)
    get = h.get
    key = raw.key
    # The tenant is the key's first segment and the stream is the topic; records written by an
    # ingress before 2026-11-29 also carry them as headers (``munchkin_id``, ``stream``).
    fields = (
        partition,
        raw.offset,
        raw.timestamp,
        key,
        raw.value,
        tuple(raw.headers),
        v.decode("utf-8", "replace") if (v := get("ce_id")) else "",
        v.decode("utf-8", "replace")
        if (v := get("munchkin_id") or (key and key.partition(b":")[0]))
        else "",
        v.decode("utf-8", "replace")
        if (v := get("stream"))
        else stream_of_topic(partition.topic)
        if stream is None
        else stream,
        v.decode("utf-8", "replace") if (v := get("event_type")) else "",
        get("ce_time"),
        get("ce_subject"),
        get("activity_type_id"),
    )
    return _new_tuple(Record, fields)


def decode_envelope(record: Record) -> Envelope:
    if not record.value:
        raise UnusableInput("empty_record", "the record has no value")
    try:
        return Envelope.from_json(record.value)
    except orjson.JSONDecodeError as exc:
        raise UnusableInput("malformed_json", str(exc)) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnusableInput("invalid_envelope", f"{type(exc).__name__}: {exc}") from exc


def decode_document(record: Record) -> dict[str, Any]:
    """The envelope as its JSON document (the names of ``Envelope.to_dict`` and of
    ``pipeline/schema/envelope.schema.json``).

    Workers read this rather than ``Envelope``: building the frozen dataclass costs about as much
    per record as everything else a worker does with it. Fields are checked where they are read
    (a missing or mistyped field raises KeyError/TypeError there, which the loop dead-letters as
    ``invalid_envelope``).
    """
    if not record.value:
        raise UnusableInput("empty_record", "the record has no value")
    try:
        doc = orjson.loads(record.value)
    except orjson.JSONDecodeError as exc:
        raise UnusableInput("malformed_json", str(exc)) from exc
    if type(doc) is not dict or type(doc.get("data")) is not dict:
        raise UnusableInput("invalid_envelope", "an envelope is an object with a 'data' object")
    return doc
