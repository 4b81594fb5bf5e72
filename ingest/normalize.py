"""Parsed events → envelopes, or dead letters for what cannot become one.

The CloudEvent ``type`` prefix picks the stream. Normalizing never raises for one bad event: the
event becomes a ``DeadLetter`` with the reason, so the rest of the delivery is still accepted and
nothing authenticated is lost. That holds for failures nobody foresaw too: any exception while
normalizing one event makes it a dead letter with reason ``internal_error`` (and a warning in the
log, since it is a bug to fix and then redrive).

A dead letter is attributed to the tenant its own content names (``data.munchkinId``, an
activity's ``munchkinId``), else to the caller's default; the tenant gate (``ingest.gate``) then
checks that attribution like any envelope's.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ingest.errors import UnusableInput, shorten
from ingest.parse import AdobeItem
from ingest.streams import lead_activity, notifications, user_audit
from ingest.streams.common import content_hash, named_tenant
from pipeline.envelope import DeadLetter, Envelope, Stream, Via

log = logging.getLogger(__name__)

Normalizer = Callable[[dict[str, Any], str | None, str], Envelope]

STREAMS: tuple[tuple[str, Stream, Normalizer], ...] = (
    (lead_activity.TYPE_PREFIX, Stream.LEAD_ACTIVITY, lead_activity.from_cloudevent),
    (user_audit.TYPE_PREFIX, Stream.USER_AUDIT, user_audit.from_cloudevent),
    (notifications.TYPE_PREFIX, Stream.NOTIFICATION, notifications.from_cloudevent),
)


@dataclass
class Normalized:
    """What a run of events became."""

    envelopes: list[Envelope] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.envelopes) + len(self.dead_letters)


def stream_of(type_: Any) -> tuple[Stream, Normalizer]:
    if not isinstance(type_, str):
        raise UnusableInput("missing_type", f"'type' must be a string, got {shorten(type_)}")
    for prefix, stream, normalizer in STREAMS:
        if type_.startswith(prefix) and len(type_) > len(prefix):
            return stream, normalizer
    raise UnusableInput("unknown_type", f"no stream handles type {shorten(type_)}")


def munchkin_hint(event: Any) -> str | None:
    data = event.get("data") if isinstance(event, dict) else None
    return named_tenant(data.get("munchkinId")) if isinstance(data, dict) else None


def unforeseen(error: Exception) -> UnusableInput:
    """An exception nobody anticipated, as a dead-letter reason: the event is kept, not lost."""
    log.warning("normalizing an event failed unexpectedly: %s", type(error).__name__)
    return UnusableInput("internal_error", f"normalizing failed: {type(error).__name__}")


def dead_letter(
    raw: Any,
    error: UnusableInput,
    via: Via,
    received_at: str,
    *,
    munchkin: str | None,
    stream: Stream | None = None,
) -> DeadLetter:
    raw_bytes = raw if isinstance(raw, bytes) else orjson.dumps(raw)
    return DeadLetter(
        id=content_hash(raw_bytes.decode("utf-8", "replace")),
        raw=raw_bytes,
        reason=error.reason,
        detail=error.detail,
        munchkinid=munchkin,
        stream=stream,
        via=via,
        receivedat=received_at,
    )


def normalize_adobe(
    items: list[AdobeItem], received_at: str, default_munchkin: str | None
) -> Normalized:
    outcome = Normalized()
    for item in items:
        stream: Stream | None = None
        try:
            if item.cloudevent is None:
                raise UnusableInput(
                    "invalid_event", f"an event must be an object: {shorten(item.raw)}"
                )
            stream, normalizer = stream_of(item.cloudevent.get("type"))
            outcome.envelopes.append(normalizer(item.cloudevent, item.adobe_event_id, received_at))
        except Exception as exc:
            error = exc if isinstance(exc, UnusableInput) else unforeseen(exc)
            munchkin = munchkin_hint(item.cloudevent) or default_munchkin
            outcome.dead_letters.append(
                dead_letter(
                    item.raw, error, Via.ADOBE_IO, received_at, munchkin=munchkin, stream=stream
                )
            )
    return outcome


def normalize_direct_push(activities: list[Any], munchkin_id: str, received_at: str) -> Normalized:
    outcome = Normalized()
    for activity in activities:
        try:
            outcome.envelopes.append(
                lead_activity.from_direct_push(activity, munchkin_id, received_at)
            )
        except Exception as exc:
            error = exc if isinstance(exc, UnusableInput) else unforeseen(exc)
            named = activity.get("munchkinId") if isinstance(activity, dict) else None
            outcome.dead_letters.append(
                dead_letter(
                    activity,
                    error,
                    Via.DIRECT_PUSH,
                    received_at,
                    munchkin=named_tenant(named) or munchkin_id,
                    stream=Stream.LEAD_ACTIVITY,
                )
            )
    return outcome
