"""Notifications (beta): wrapped CloudEvents from the notification centre (PROTOCOL.md §1.3).

``eventAction`` is an object whose fields vary by type; only ``web_services`` and
``campaign_abort`` are documented, so the rest is passed through untouched in ``data``.
"""

from typing import Any

from ingest.streams.common import (
    event_id,
    event_time,
    identifier,
    require_data,
    require_munchkin,
    type_token,
)
from pipeline.envelope import Envelope, Stream, Via

TYPE_PREFIX = "com.adobe.platform.marketo.notification."


def subject(data: dict[str, Any]) -> str:
    action = data.get("eventAction")
    campaign = identifier(action.get("campaignId")) if isinstance(action, dict) else None
    return (
        campaign or identifier(data.get("subType")) or identifier(data.get("componentType")) or ""
    )


def from_cloudevent(
    cloudevent: dict[str, Any], adobe_event_id: str | None, received_at: str
) -> Envelope:
    data = require_data(cloudevent)
    type_ = str(cloudevent["type"])
    return Envelope(
        id=event_id(cloudevent, adobe_event_id),
        type=type_,
        time=event_time([("time", cloudevent.get("time"))], received_at),
        subject=subject(data),
        munchkinid=require_munchkin(data),
        stream=Stream.NOTIFICATION,
        eventtype=type_token(type_[len(TYPE_PREFIX) :]),
        receivedat=received_at,
        via=Via.ADOBE_IO,
        data=data,
        adobeeventid=adobe_event_id,
    )
