"""Envelopes and records for consume and worker tests, shaped as the ingress writes them."""

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pipeline.activity_types import standard_names, type_suffix
from pipeline.consume.record import Partition, Record, to_record
from pipeline.envelope import Envelope, Stream, Via, format_time
from pipeline.topics import OutboundRecord, Topics, route

MUNCHKIN = "321-XYZ-987"
OTHER = "654-SBX-321"
T0 = 1_772_441_700.0  # 2026-03-02T08:55:00Z


def iso(at_s: float) -> str:
    return format_time(datetime.fromtimestamp(at_s, UTC))


def envelope(
    stream: Stream,
    eventtype: str,
    type_: str,
    data: dict[str, Any],
    *,
    subject: str,
    at_s: float,
    munchkin: str = MUNCHKIN,
    event_id: str | None = None,
) -> Envelope:
    data = {"munchkinId": munchkin, **data}
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        type=type_,
        time=iso(at_s),
        subject=subject,
        munchkinid=munchkin,
        stream=stream,
        eventtype=eventtype,
        receivedat=iso(at_s + 0.5),
        via=Via.ADOBE_IO,
        data=data,
    )


def lead(
    type_id: int,
    lead_id: str = "884201",
    *,
    at_s: float = T0,
    munchkin: str = MUNCHKIN,
    event_id: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Envelope:
    name = standard_names()[type_id]
    suffix = type_suffix(name)
    data = {
        "leadId": lead_id,
        "activityDate": iso(at_s),
        "activityTypeId": type_id,
        "activityType": name,
        "primaryAttributeValue": "Spring Webinar.Confirmation Email",
        "attributes": [
            {"name": k, "dataType": "string", "value": v} for k, v in (attributes or {}).items()
        ],
    }
    return envelope(
        Stream.LEAD_ACTIVITY,
        suffix,
        f"com.adobe.platform.marketo.activity.standard.{suffix}",
        data,
        subject=lead_id,
        at_s=at_s,
        munchkin=munchkin,
        event_id=event_id,
    )


def audit(
    component: str,
    action: str,
    *,
    user: str = "ops.admin@example.com",
    component_id: int = 40512,
    at_s: float = T0,
    munchkin: str = MUNCHKIN,
) -> Envelope:
    suffix = type_suffix(component)
    slug = "_".join(action.lower().split())
    data = {
        "componentId": component_id,
        "componentType": component,
        "eventAction": action,
        "userId": user,
        "imsOrgId": "ABCDEF0123456789ABCDEF01@AdobeOrg",
    }
    return envelope(
        Stream.USER_AUDIT,
        f"{suffix}.{slug}",
        f"com.adobe.platform.marketo.audit.user.{suffix}",
        data,
        subject=str(component_id),
        at_s=at_s,
        munchkin=munchkin,
    )


def notification(
    kind: str,
    action: dict[str, Any],
    *,
    subject: str = "",
    at_s: float = T0,
    munchkin: str = MUNCHKIN,
) -> Envelope:
    data = {"componentType": kind, "subType": kind, "eventAction": action}
    subject = subject or str(action.get("campaignId", kind))
    return envelope(
        Stream.NOTIFICATION,
        kind,
        f"com.adobe.platform.marketo.notification.{kind}",
        data,
        subject=subject,
        at_s=at_s,
        munchkin=munchkin,
    )


def at_now(env: Envelope, offset_s: float = 0.0) -> Envelope:
    """The same event, happening now (for freshness)."""
    return replace(env, time=iso(time.time() + offset_s))


class Raw:
    """What the loop reads of an aiokafka ``ConsumerRecord``."""

    def __init__(self, offset: int, out: OutboundRecord) -> None:
        self.offset = offset
        self.timestamp = out.timestamp_ms
        self.key = out.key
        self.value = out.value
        self.headers = out.headers


def records(envs: list[Envelope], topics: Topics, partition: int = 0) -> list[Record]:
    """Envelopes as the loop would hand them over (no broker), offsets from 0."""
    out = []
    for offset, env in enumerate(envs):
        routed = route(env, topics)
        part = Partition(routed.topic, partition)
        out.append(to_record(part, Raw(offset, routed)))
    return out


def record_of(out: OutboundRecord, offset: int = 0, partition: int | None = None) -> Record:
    """A record the workers wrote (an alert, a score, a crossing) as a loop hands it over."""
    part = Partition(out.topic, partition if partition is not None else out.partition or 0)
    return to_record(part, Raw(offset, out))
