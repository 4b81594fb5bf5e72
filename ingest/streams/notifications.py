"""Notifications (beta): wrapped CloudEvents from the notification centre (docs/protocol.md).

``eventAction`` is an object whose fields vary by type; only ``web_services`` and
``campaign_abort`` are documented, so the rest is passed through untouched in ``data``.
"""

from typing import Any

from ingest.streams.common import (
    adobe_envelope,
    identifier,
    type_token,
)
from pipeline.envelope import Envelope, Stream

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
    return adobe_envelope(
        cloudevent,
        adobe_event_id,
        received_at,
        stream=Stream.NOTIFICATION,
        subject=subject,
        eventtype=lambda type_, _: type_token(type_[len(TYPE_PREFIX) :]),
    )
