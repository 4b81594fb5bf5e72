"""Decoded events → Kafka records in one step: the ingress' hot path for lead activities.

The reference is the slow path: ``ingest.normalize`` builds an ``Envelope`` per event and
``pipeline.topics.route`` turns it into a record. An event whose fields come in the forms Marketo
sends (a string or integer id and lead id without surrounding spaces, a UTC time with ``Z``, a
known activity type, a munchkin ID without surrounding spaces) becomes that same record here
directly: the same envelope bytes, headers (``record_headers``) and key, without the
``Envelope`` object, its frozen-dataclass construction and its second walk through ``route``.
The bytes are joined from the attribute text and orjson's serialization of ``data`` where
orjson would write that text unchanged (``plain``), else ``envelope_doc`` is serialized whole.
Any other event goes through the reference path itself, dead letters included. One timestamp
serves a whole delivery (the reference takes the clock once per record).

Each record's (munchkin ID, stream) is taken from its own content, exactly as the envelope's
``munchkinid`` would be, and handed to the tenant gate in ``Part.record_tenants``.
``tests/ingest/test_fastpath.py`` proves both paths give the same records, dead letters, counts
and gate decisions on generated input.
"""

import time
from functools import lru_cache
from typing import Any

import orjson

from ingest.gate import Part, Principal
from ingest.normalize import Normalized, normalize_adobe, normalize_direct_push
from ingest.parse import AdobeItem
from ingest.streams.common import marketo_utc
from ingest.streams.lead_activity import TYPE_PREFIX, short_type
from pipeline.activity_types import cloudevent_type
from pipeline.envelope import (
    DATA_CONTENT_TYPE,
    ENVELOPE_VERSION,
    SPEC_VERSION,
    Stream,
    Via,
    envelope_doc,
    exact_bytes,
    source_for,
)
from pipeline.topics import OutboundRecord, Topics, record_headers, route

LEAD_ACTIVITY = Stream.LEAD_ACTIVITY


@lru_cache(maxsize=4096)  # a few hundred activity types; bounded, as the name is the sender's
def _push_type(type_id: int, name: str | None) -> str | None:
    return cloudevent_type(type_id, name)


def _id_text(value: Any) -> str | None:
    """``identifier`` for the forms that need no stripping; None for every other form."""
    kind = type(value)
    if kind is str:
        return value if value and value.strip() == value else None
    if kind is int:
        return str(value)
    return None


def _time_text(value: Any, received_at: str) -> str | None:
    """``event_time`` of one present-or-absent candidate, in the fast forms only."""
    if value is None or value == "":
        return received_at
    return marketo_utc(value) if type(value) is str else None


def plain(text: str) -> bool:
    """True when orjson writes ``text`` between its quotes as ``str.encode`` does (printable,
    without a quote or backslash: orjson escapes those and control characters only, and refuses
    surrogates), so the envelope's bytes can be joined from it."""
    return text.isprintable() and '"' not in text and "\\" not in text


@lru_cache(maxsize=4096)  # a few munchkin IDs times a few hundred types
def _frame(munchkin: str, type_: str) -> tuple[str, str, str] | None:
    """The envelope's text between ``id`` and ``time`` and between ``subject`` and
    ``receivedat`` (``envelope_doc``'s attributes in its order), and the short type; None when a
    part is not ``plain``."""
    eventtype = short_type(type_)
    if not (plain(munchkin) and plain(type_) and plain(eventtype)):
        return None
    source = source_for(munchkin)
    before_time = f'","source":"{source}","type":"{type_}","time":"'
    before_received = (
        f'","datacontenttype":"{DATA_CONTENT_TYPE}","envelopeversion":"{ENVELOPE_VERSION}",'
        f'"munchkinid":"{munchkin}","stream":"{LEAD_ACTIVITY}","eventtype":"{eventtype}",'
        '"receivedat":"'
    )
    return before_time, before_received, eventtype


_AFTER_RECEIVED = {via: f'","via":"{via}"' for via in Via}
_new_record = tuple.__new__  # an OutboundRecord without NamedTuple's __new__ in Python


class Builder:
    """The records of one delivery's part, built fast where the event allows."""

    def __init__(self, part: Part, topics: Topics, received_at: str) -> None:
        self.part = part
        self.topics = topics
        self.topic = topics.lead_activity.name
        self.received_at = received_at
        self.timestamp_ms = int(time.time() * 1000)
        self.joinable = plain(received_at)
        # ``event_time`` of each distinct time text: a push's activities share a few seconds
        self.times: dict[str, str | None] = {}

    def time_of(self, value: Any) -> str | None:
        """``_time_text`` of ``value``, each distinct text worked out once per delivery."""
        if type(value) is not str or not value:
            return _time_text(value, self.received_at)
        try:
            return self.times[value]
        except KeyError:
            text = self.times[value] = marketo_utc(value)
            return text

    def add(self, record: OutboundRecord, munchkin: str) -> None:
        self.part.records.append(record)
        self.part.record_tenants[(munchkin, LEAD_ACTIVITY)] += 1

    def add_slow(self, normalized: Normalized) -> None:
        part = self.part
        for envelope in normalized.envelopes:
            part.records.append(route(envelope, self.topics))
            part.record_tenants[(envelope.munchkinid, envelope.stream)] += 1
        part.dead_letters += normalized.dead_letters

    def record(
        self,
        ce_id: str,
        type_: str,
        time_: str,
        subject: str,
        munchkin: str,
        via: Via,
        data: dict[str, Any],
        adobe_event_id: str | None = None,
    ) -> OutboundRecord:
        """The envelope's record: its bytes joined from text that orjson would write as it is
        and orjson's own ``data``, else ``envelope_doc`` serialized whole (the same bytes)."""
        frame = _frame(munchkin, type_)
        if (
            frame is not None
            and self.joinable
            and plain(ce_id)
            and plain(subject)
            and (adobe_event_id is None or plain(adobe_event_id))
        ):
            before_time, before_received, eventtype = frame
            aid = "" if adobe_event_id is None else f',"adobeeventid":"{adobe_event_id}"'
            head = (
                f'{{"specversion":"{SPEC_VERSION}","id":"{ce_id}{before_time}{time_}",'
                f'"subject":"{subject}{before_received}{self.received_at}{_AFTER_RECEIVED[via]}'
                f'{aid},"data":'
            )
            value = b"".join((head.encode(), orjson.dumps(data), b"}"))
        else:
            eventtype = short_type(type_)
            doc = envelope_doc(
                ce_id, type_, time_, subject, munchkin, LEAD_ACTIVITY, eventtype,
                self.received_at, via, data, adobe_event_id,
            )  # fmt: skip
            value = exact_bytes(orjson.dumps(doc))
        type_id = data.get("activityTypeId")
        headers = record_headers(
            ce_id, time_, eventtype, subject, type_id if type(type_id) is int else None
        )
        key = f"{munchkin}:{subject}".encode()
        record: OutboundRecord = _new_record(
            OutboundRecord, (self.topic, key, value, headers, self.timestamp_ms, None)
        )
        return record


def push_part(
    principal: Principal, activities: list[Any], munchkin_id: str, received_at: str, topics: Topics
) -> Part:
    """``normalize_direct_push`` and ``route`` in one step, as a part under ``principal``."""
    build = Builder(Part(principal), topics, received_at)
    records = build.part.records
    tenants = build.part.record_tenants
    own = 0  # records of the push's own munchkin ID: counted once, not per event
    for activity in activities:
        built = _push_activity(build, activity, munchkin_id)
        if built is None:
            build.add_slow(normalize_direct_push([activity], munchkin_id, received_at))
            continue
        record, munchkin = built
        records.append(record)
        if munchkin == munchkin_id:
            own += 1
        else:
            tenants[(munchkin, LEAD_ACTIVITY)] += 1
    if own:
        tenants[(munchkin_id, LEAD_ACTIVITY)] += own
    return build.part


def _push_activity(
    build: Builder, activity: Any, munchkin_id: str
) -> tuple[OutboundRecord, str] | None:
    """The record of ``lead_activity.from_direct_push`` and its munchkin ID; None when the event
    needs the reference path (anything it would strip, coerce, reformat or refuse)."""
    if type(activity) is not dict:
        return None
    munchkin = activity.get("munchkinId") or munchkin_id
    type_id = activity.get("activityTypeId")
    if type(munchkin) is not str or not munchkin or munchkin.strip() != munchkin:
        return None
    if type(type_id) is not int:
        return None
    name = activity.get("activityType")
    type_ = _push_type(type_id, name if type(name) is str else None)
    ce_id = _id_text(activity.get("marketoGUID"))
    time_ = build.time_of(activity.get("activityDate"))
    subject = _id_text(activity.get("leadId"))
    if type_ is None or ce_id is None or time_ is None or subject is None:
        return None
    # In place, not a copy: the data the reference builds ({**activity, "munchkinId": ...}:
    # the same keys in the same order), and the decoded delivery is this path's alone.
    activity["munchkinId"] = munchkin
    record = build.record(ce_id, type_, time_, subject, munchkin, Via.DIRECT_PUSH, activity)
    return record, munchkin


def adobe_part(
    principal: Principal, item: AdobeItem, index: int, received_at: str, topics: Topics
) -> Part:
    """``normalize_adobe`` of one item and ``route``, as the part of event ``index``."""
    build = Builder(Part(principal, first_index=index), topics, received_at)
    if not _adobe_lead_activity(build, item):
        build.add_slow(normalize_adobe([item], received_at, principal.sole_tenant))
    return build.part


def _adobe_lead_activity(build: Builder, item: AdobeItem) -> bool:
    """Build the record of ``lead_activity.from_cloudevent`` (by way of ``adobe_envelope``);
    False for other streams and for what the reference path would strip, coerce or refuse."""
    event = item.cloudevent
    if event is None:
        return False
    type_ = event.get("type")
    data = event.get("data")
    if type(type_) is not str or not type_.startswith(TYPE_PREFIX) or type(data) is not dict:
        return False
    if len(type_) <= len(TYPE_PREFIX):
        return False
    ce_id = _id_text(event.get("id"))
    if ce_id is None and (event.get("id") is not None or item.adobe_event_id is None):
        return False  # an id the reference would strip or coerce, or a content hash
    time_ = _first_time(event.get("time"), data.get("activityDate"), build.received_at)
    subject = _id_text(data.get("leadId"))
    munchkin = data.get("munchkinId")
    if time_ is None or subject is None or type(munchkin) is not str:
        return False
    if not munchkin or munchkin.strip() != munchkin:
        return False
    event_id = ce_id or item.adobe_event_id
    assert event_id is not None
    aid = item.adobe_event_id
    build.add(
        build.record(event_id, type_, time_, subject, munchkin, Via.ADOBE_IO, data, aid), munchkin
    )
    return True


def _first_time(time_: Any, activity_date: Any, received_at: str) -> str | None:
    if time_ is None or time_ == "":
        return _time_text(activity_date, received_at)
    return _time_text(time_, received_at)
