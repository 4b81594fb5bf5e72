"""Helpers every stream's normalizer shares: field access with precise errors, time, ids."""

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest.errors import UnusableInput, shorten
from pipeline.envelope import Envelope, Stream, Via, format_time

_SLUG = re.compile(r"[^a-z0-9]+")


def require_data(cloudevent: dict[str, Any]) -> dict[str, Any]:
    data = cloudevent.get("data")
    if not isinstance(data, dict):
        raise UnusableInput("missing_data", f"'data' must be an object, got {shorten(data)}")
    return data


def named_tenant(value: Any) -> str | None:
    """The munchkin ID a field names, as the envelope would carry it; None if it names none."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def require_munchkin(data: dict[str, Any]) -> str:
    munchkin = named_tenant(data.get("munchkinId"))
    if munchkin is None:
        raise UnusableInput(
            "missing_munchkin_id",
            f"'data.munchkinId' must be a string, got {shorten(data.get('munchkinId'))}",
        )
    return munchkin


def identifier(value: Any) -> str | None:
    """A string or integer id as text; None for anything else (bool, float, empty)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def slug(text: str) -> str:
    """ "modify program token" → "modify_program_token"; "draftCreate" → "draftcreate"."""
    return _SLUG.sub("_", text.lower()).strip("_")


_NOT_TYPE_CHAR = re.compile(r"[^a-z0-9_.]+")


def type_token(text: str) -> str:
    """A short event type safe for headers and routing: lower case, ``[a-z0-9_.]`` only."""
    return _NOT_TYPE_CHAR.sub("_", text.lower()).strip("_.") or "unknown"


def content_hash(*parts: Any) -> str:
    """A stable id for an event that carries none: the same event always hashes the same."""
    canonical = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def event_id(cloudevent: dict[str, Any], adobe_event_id: str | None) -> str:
    return identifier(cloudevent.get("id")) or adobe_event_id or content_hash(cloudevent)


def parse_time(value: Any, field: str) -> datetime:
    """Lenient: RFC 3339, ISO 8601 with a space and no zone (User Audit), epoch s or ms.

    Only moments that can be written back as UTC are times: 1e300, or 9999-12-31 at UTC-14, would
    overflow later (``fromtimestamp``, ``astimezone``), so they are refused here."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 10**11 else value
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            moment.astimezone(UTC)
            return moment
    except (ValueError, OverflowError, OSError):
        pass
    raise UnusableInput("invalid_time", f"'{field}' is not a date-time: {shorten(value)}")


# UTC with "Z", whole seconds or milliseconds: what Marketo sends, and (with milliseconds) what
# format_time returns. Reformatting costs more than parsing, so such times are only validated
# by the parse and then completed as text.
_UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")


def marketo_utc(value: str) -> str | None:
    """``value`` normalized when it is a valid time in that UTC form; None when it is not in
    that form or does not parse (``normalized_time`` then tells which)."""
    match = _UTC_TIME.fullmatch(value)
    if match is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return None
    return value if match.group(1) else f"{value[:-1]}.000Z"


def normalized_time(value: Any, field: str) -> str:
    if isinstance(value, str) and (text := marketo_utc(value)) is not None:
        return text
    return format_time(parse_time(value, field))


def event_time(candidates: list[tuple[str, Any]], received_at: str) -> str:
    """The first present candidate, normalized to UTC RFC 3339; the receive time if none is."""
    for field, value in candidates:
        if value is not None and value != "":
            return normalized_time(value, field)
    return received_at


def adobe_envelope(
    cloudevent: dict[str, Any],
    adobe_event_id: str | None,
    received_at: str,
    *,
    stream: Stream,
    subject: Callable[[dict[str, Any]], str],
    eventtype: Callable[[str, dict[str, Any]], str],
    data_time_fields: tuple[str, ...] = (),
) -> Envelope:
    """The envelope of one Adobe I/O CloudEvent; each stream says how to find its subject and
    short event type."""
    data = require_data(cloudevent)
    type_ = str(cloudevent["type"])
    times = [("time", cloudevent.get("time"))]
    times += [(f"data.{name}", data.get(name)) for name in data_time_fields]
    return Envelope(
        id=event_id(cloudevent, adobe_event_id),
        type=type_,
        time=event_time(times, received_at),
        subject=subject(data),
        munchkinid=require_munchkin(data),
        stream=stream,
        eventtype=eventtype(type_, data),
        receivedat=received_at,
        via=Via.ADOBE_IO,
        data=data,
        adobeeventid=adobe_event_id,
    )
