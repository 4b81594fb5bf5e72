"""User Audit: wrapped CloudEvents about users changing assets (docs/protocol.md).

The current body has no CloudEvents ``id`` (removed from the docs in Jul 2024), so the Adobe
``eventid`` is the identity; ``time`` may be ``2024-07-11 13:20:42.755`` (no zone: UTC).
"""

from typing import Any

from ingest.streams.common import (
    adobe_envelope,
    identifier,
    slug,
    type_token,
)
from pipeline.envelope import Envelope, Stream

TYPE_PREFIX = "com.adobe.platform.marketo.audit.user."


def short_type(type_: str, data: dict[str, Any]) -> str:
    """``email.approve``; ``program.modify_program_token``; just the component without action."""
    component = type_token(type_[len(TYPE_PREFIX) :])
    action = data.get("eventAction")
    if isinstance(action, str) and slug(action):
        return f"{component}.{slug(action)}"
    return component


def subject(data: dict[str, Any]) -> str:
    """The asset changed; for logins and user events without one, the acting user."""
    return identifier(data.get("componentId")) or identifier(data.get("userId")) or ""


def from_cloudevent(
    cloudevent: dict[str, Any], adobe_event_id: str | None, received_at: str
) -> Envelope:
    return adobe_envelope(
        cloudevent,
        adobe_event_id,
        received_at,
        stream=Stream.USER_AUDIT,
        subject=subject,
        eventtype=short_type,
    )
