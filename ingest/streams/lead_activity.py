"""Lead Activity: flat CloudEvents from Adobe I/O Events, and the direct (legacy) push.

The same activity gets the same envelope whichever way it came: ``id`` is the CloudEvent ``id``,
which the migration guide maps from the legacy ``marketoGUID`` (docs/protocol.md); ``type`` for a
direct-push activity is the one Adobe I/O gives it, derived from ``activityTypeId``.
"""

from functools import lru_cache
from typing import Any

from ingest.errors import UnusableInput, shorten
from ingest.streams.common import (
    adobe_envelope,
    content_hash,
    event_time,
    identifier,
    require_munchkin,
    type_token,
)
from pipeline.activity_types import CUSTOM_TYPE, STANDARD_TYPE_PREFIX, cloudevent_type
from pipeline.envelope import Envelope, Stream, Via

TYPE_PREFIX = "com.adobe.platform.marketo.activity."


@lru_cache(maxsize=4096)  # a few hundred activity types; once per event on the hot path
def short_type(type_: str) -> str:
    if type_ == CUSTOM_TYPE:
        return "custom"
    if type_.startswith(STANDARD_TYPE_PREFIX):
        return type_token(type_[len(STANDARD_TYPE_PREFIX) :])
    return type_token(type_[len(TYPE_PREFIX) :])


def _lead_id(data: dict[str, Any]) -> str:
    lead = identifier(data.get("leadId"))
    if lead is None:
        raise UnusableInput(
            "missing_lead_id",
            f"'leadId' must be a string or integer, got {shorten(data.get('leadId'))}",
        )
    return lead


def from_cloudevent(
    cloudevent: dict[str, Any], adobe_event_id: str | None, received_at: str
) -> Envelope:
    return adobe_envelope(
        cloudevent,
        adobe_event_id,
        received_at,
        stream=Stream.LEAD_ACTIVITY,
        subject=_lead_id,
        eventtype=lambda type_, _: short_type(type_),
        data_time_fields=("activityDate",),
    )


def _activity_type(activity: dict[str, Any]) -> str:
    type_id = activity.get("activityTypeId")
    if isinstance(type_id, bool) or not isinstance(type_id, int):
        raise UnusableInput(
            "missing_activity_type", f"'activityTypeId' must be an integer, got {shorten(type_id)}"
        )
    name = activity.get("activityType")
    type_ = cloudevent_type(type_id, name if isinstance(name, str) else None)
    if type_ is None:
        raise UnusableInput(
            "unknown_activity_type", f"activityTypeId {type_id} is unknown and has no activityType"
        )
    return type_


def from_direct_push(activity: Any, munchkin_id: str, received_at: str) -> Envelope:
    if not isinstance(activity, dict):
        raise UnusableInput(
            "invalid_activity", f"an activity must be an object: {shorten(activity)}"
        )
    # The migration guide maps each activity to an I/O event's ``data`` with munchkinId added.
    data = {**activity, "munchkinId": activity.get("munchkinId") or munchkin_id}
    munchkin = require_munchkin(data)
    type_ = _activity_type(activity)
    return Envelope(
        id=identifier(activity.get("marketoGUID")) or content_hash(munchkin, activity),
        type=type_,
        time=event_time([("activityDate", activity.get("activityDate"))], received_at),
        subject=_lead_id(activity),
        munchkinid=munchkin,
        stream=Stream.LEAD_ACTIVITY,
        eventtype=short_type(type_),
        receivedat=received_at,
        via=Via.DIRECT_PUSH,
        data=data,
    )
