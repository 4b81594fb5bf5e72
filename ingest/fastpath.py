"""Decoded events → Kafka records in one step: the ingress' hot path for lead activities.

The reference is the slow path: ``ingest.normalize`` builds an ``Envelope`` per event and
``pipeline.topics.route`` turns it into a record. An event whose fields come in the forms Marketo
sends (a string or integer id and lead id without surrounding spaces, a UTC time with ``Z``, a
known activity type, a munchkin ID without surrounding spaces) becomes that same record here
directly: the same envelope document (``envelope_doc``), headers (``record_headers``) and key,
without the ``Envelope`` object, its frozen-dataclass construction and its second walk through
``route``. Any other event goes through the reference path itself, dead letters included. One
timestamp serves a whole delivery (the reference takes the clock once per record).

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
from pipeline.envelope import Stream, Via, envelope_doc, exact_bytes
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


class Builder:
    """The records of one delivery's part, built fast where the event allows."""

    def __init__(self, part: Part, topics: Topics, received_at: str) -> None:
        self.part = part
        self.topics = topics
        self.topic = topics.lead_activity.name
        self.received_at = received_at
        self.timestamp_ms = int(time.time() * 1000)

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
    ) -> None:
        eventtype = short_type(type_)
        doc = envelope_doc(
            ce_id, type_, time_, subject, munchkin, LEAD_ACTIVITY, eventtype,
            self.received_at, via, data, adobe_event_id,
        )  # fmt: skip
        type_id = data.get("activityTypeId")
        headers = record_headers(
            ce_id, time_, eventtype, subject, type_id if type(type_id) is int else None
        )
        key = f"{munchkin}:{subject}".encode()
        value = exact_bytes(orjson.dumps(doc))
        self.add(OutboundRecord(self.topic, key, value, headers, self.timestamp_ms), munchkin)


def push_part(
    principal: Principal, activities: list[Any], munchkin_id: str, received_at: str, topics: Topics
) -> Part:
    """``normalize_direct_push`` and ``route`` in one step, as a part under ``principal``."""
    build = Builder(Part(principal), topics, received_at)
    for activity in activities:
        if not _push_activity(build, activity, munchkin_id):
            build.add_slow(normalize_direct_push([activity], munchkin_id, received_at))
    return build.part


def _push_activity(build: Builder, activity: Any, munchkin_id: str) -> bool:
    """Build the record of ``lead_activity.from_direct_push``; False when the event needs the
    reference path (anything it would strip, coerce, reformat or refuse)."""
    if type(activity) is not dict:
        return False
    munchkin = activity.get("munchkinId") or munchkin_id
    type_id = activity.get("activityTypeId")
    if type(munchkin) is not str or not munchkin or munchkin.strip() != munchkin:
        return False
    if type(type_id) is not int:
        return False
    name = activity.get("activityType")
    type_ = _push_type(type_id, name if type(name) is str else None)
    ce_id = _id_text(activity.get("marketoGUID"))
    time_ = _time_text(activity.get("activityDate"), build.received_at)
    subject = _id_text(activity.get("leadId"))
    if type_ is None or ce_id is None or time_ is None or subject is None:
        return False
    data = {**activity, "munchkinId": munchkin}
    build.record(ce_id, type_, time_, subject, munchkin, Via.DIRECT_PUSH, data)
    return True


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
    build.record(event_id, type_, time_, subject, munchkin, Via.ADOBE_IO, data, item.adobe_event_id)
    return True


def _first_time(time_: Any, activity_date: Any, received_at: str) -> str | None:
    if time_ is None or time_ == "":
        return _time_text(activity_date, received_at)
    return _time_text(time_, received_at)
