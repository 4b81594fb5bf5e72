"""The one envelope every accepted event travels in: a CloudEvents 1.0 JSON document.

CloudEvents context attributes (``specversion``, ``id``, ``source``, ``type``, ``time``,
``subject``, ``datacontenttype``) plus our extension attributes. ``data`` is the upstream event's
data, unchanged. ``id`` is the same for the same event whichever path brought it (Adobe I/O
Events, the direct push, the journal or the REST backfill), so consumers can tell duplicates
apart. The JSON Schema of this
document ships as ``pipeline/schema/envelope.schema.json``.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, ClassVar

import orjson

SPEC_VERSION = "1.0"
ENVELOPE_VERSION = "1"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"


class Stream(StrEnum):
    LEAD_ACTIVITY = "lead-activity"
    USER_AUDIT = "user-audit"
    NOTIFICATION = "notification"


class Via(StrEnum):
    """Which upstream path delivered the event. The journal and the REST backfill recover what
    the push paths lost: they keep the id, type and data of the push, and say here how they came."""

    ADOBE_IO = "adobe-io"
    DIRECT_PUSH = "direct-push"
    ADOBE_IO_JOURNAL = "adobe-io-journal"
    MARKETO_REST = "marketo-rest"


@lru_cache(maxsize=4096)  # a few munchkin IDs per deployment; called once per event
def source_for(munchkin_id: str) -> str:
    return f"marketo:{munchkin_id}"


def format_time(moment: datetime, timespec: str = "milliseconds") -> str:
    """UTC RFC 3339 with ``Z``: the envelope's ``time`` and ``receivedat`` (milliseconds)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


_EPOCH_TEXTS_KEPT = 10_000
_epoch_texts: dict[int, str] = {}  # whole second → its text (workers format many of a second)


def format_epoch_s(at_s: float) -> str:
    """Epoch seconds in the envelope's format, to the whole second: the times that alert and
    score documents carry (``2026-03-02T08:55:00Z``)."""
    # floored before it becomes a datetime, which would round x.9999996 up to the next second
    second = math.floor(at_s)
    text = _epoch_texts.get(second)
    if text is None:
        text = format_time(datetime.fromtimestamp(second, UTC), "seconds")
        if len(_epoch_texts) >= _EPOCH_TEXTS_KEPT:
            _epoch_texts.clear()
        _epoch_texts[second] = text
    return text


_STREAM_TEXT = {s: s.value for s in Stream}
_VIA_TEXT = {v: v.value for v in Via}


def envelope_doc(
    id: str,
    type: str,
    time: str,
    subject: str,
    munchkinid: str,
    stream: Stream,
    eventtype: str,
    receivedat: str,
    via: Via,
    data: dict[str, Any],
    adobeeventid: str | None = None,
) -> dict[str, Any]:
    """The envelope as a JSON document, attributes in their documented order. One definition
    for ``Envelope.to_dict`` and for the ingress' records built without an ``Envelope``
    (``ingest.fastpath``), so both serialize to the same bytes."""
    # str() of a StrEnum member is its value, without the enum property lookup of .value:
    # this runs once per event on the ingress' hot path.
    doc: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": id,
        "source": source_for(munchkinid),
        "type": type,
        "time": time,
        "subject": subject,
        "datacontenttype": DATA_CONTENT_TYPE,
        "envelopeversion": ENVELOPE_VERSION,
        "munchkinid": munchkinid,
        "stream": _STREAM_TEXT[stream],
        "eventtype": eventtype,
        "receivedat": receivedat,
        "via": _VIA_TEXT[via],
    }
    if adobeeventid is not None:
        doc["adobeeventid"] = adobeeventid
    doc["data"] = data
    return doc


def exact_bytes(serialized: bytes) -> bytes:
    """A copy, so that orjson's own output is freed at once: a delivery keeps 500 envelopes
    until Kafka acknowledges, and keeping orjson's outputs costs about 2.3 µs more per event
    than keeping copies (docs/performance.md)."""
    return bytes(memoryview(serialized))


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    time: str
    subject: str
    munchkinid: str
    stream: Stream
    eventtype: str
    receivedat: str
    via: Via
    data: dict[str, Any]
    # The Adobe I/O ``eventid`` (same on every retry of one event), when the event came that way.
    adobeeventid: str | None = None

    specversion: ClassVar[str] = SPEC_VERSION
    datacontenttype: ClassVar[str] = DATA_CONTENT_TYPE
    envelopeversion: ClassVar[str] = ENVELOPE_VERSION

    @property
    def source(self) -> str:
        return source_for(self.munchkinid)

    def to_dict(self) -> dict[str, Any]:
        return envelope_doc(
            self.id,
            self.type,
            self.time,
            self.subject,
            self.munchkinid,
            self.stream,
            self.eventtype,
            self.receivedat,
            self.via,
            self.data,
            self.adobeeventid,
        )

    def to_json(self) -> bytes:
        return exact_bytes(orjson.dumps(self.to_dict()))

    @classmethod
    def from_json(cls, raw: bytes) -> "Envelope":
        doc = orjson.loads(raw)
        return cls(
            id=doc["id"],
            type=doc["type"],
            time=doc["time"],
            subject=doc["subject"],
            munchkinid=doc["munchkinid"],
            stream=Stream(doc["stream"]),
            eventtype=doc["eventtype"],
            receivedat=doc["receivedat"],
            via=Via(doc["via"]),
            data=doc["data"],
            adobeeventid=doc.get("adobeeventid"),
        )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An authenticated input we could not turn into an envelope: kept, not lost.

    ``raw`` is the exact request body when the whole body was unusable, or the event's own JSON
    when one event of a delivery was. It becomes the Kafka record value, so a fixed consumer (or a
    redrive) reads the original bytes.
    """

    id: str
    raw: bytes
    reason: str
    detail: str
    munchkinid: str | None
    stream: Stream | None
    via: Via
    receivedat: str
