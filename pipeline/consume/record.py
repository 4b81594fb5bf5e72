"""One Kafka record as the loop hands it to a handler, and the decoders of its value.

A ``Record`` is built from the headers alone (id, tenant, stream, event type); the JSON value is
decoded only when a handler asks (``document`` or ``envelope``). What cannot be decoded raises
``UnusableInput``, which the loop turns into a dead letter with the reason.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from pipeline.envelope import Envelope
from pipeline.errors import UnusableInput
from pipeline.topics import stream_of_topic


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
    headers: Mapping[str, bytes]
    event_id: str  # ce_id: the envelope id, the same on every copy of the event
    munchkin_id: str
    stream: str
    event_type: str

    def envelope(self) -> Envelope:
        return decode_envelope(self)

    def document(self) -> dict[str, Any]:
        return decode_document(self)


_new_tuple = tuple.__new__


def to_record(partition: Partition, raw: Any) -> Record:
    """An aiokafka ``ConsumerRecord`` → ``Record``. This runs for every record: the tuple is
    built directly (a NamedTuple's own ``__new__`` is a Python function, twice as slow)."""
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
        h,
        v.decode("utf-8", "replace") if (v := get("ce_id")) else "",
        v.decode("utf-8", "replace")
        if (v := get("munchkin_id") or (key and key.partition(b":")[0]))
        else "",
        v.decode("utf-8", "replace") if (v := get("stream")) else stream_of_topic(partition.topic),
        v.decode("utf-8", "replace") if (v := get("event_type")) else "",
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


def event_time_s(time_text: str) -> float:
    """An envelope ``time`` as epoch seconds (the ingress writes UTC RFC 3339)."""
    try:
        return datetime.fromisoformat(time_text).timestamp()
    except (TypeError, ValueError) as exc:
        raise UnusableInput("invalid_time", f"envelope time {str(time_text)[:40]!r}") from exc
