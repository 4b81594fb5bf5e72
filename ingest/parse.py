"""Bytes → the events of one delivery, before any interpretation of their content.

Adobe I/O Events deliveries (docs/protocol.md): a single object or a JSON array of them;
each element is a flat CloudEvent (Lead Activity), wrapped ``{"eventid", "event": {"body": ...}}``
(User Audit, Notification), or the older wrapped ``{"event_id", "event": {...}}``. Field names
old and new: ``eventid``/``event_id``, ``recipientclientid``/``recipient_client_id``; the
recipient may sit at the top level or inside ``event`` (UNCONFIRMED which), so we look in both.

Direct Lead Activity push (docs/protocol.md): ``{sourceApplication, munchkinId, messageId,
messageCreatedDate, activities: [...]}`` or a bare array of activities.
"""

import contextlib
from dataclasses import dataclass
from typing import Any

import orjson

from ingest.errors import MalformedJson, UnusableInput, shorten


@dataclass(frozen=True, slots=True)
class AdobeItem:
    """One element of an Adobe I/O delivery."""

    raw: Any
    cloudevent: dict[str, Any] | None
    adobe_event_id: str | None
    recipient: str | None


@dataclass(frozen=True, slots=True)
class DirectPush:
    munchkin_id: str | None
    message_id: str | None
    activities: list[Any]


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def validation_url(doc: Any) -> str | None:
    """The asynchronous challenge URL when the body is ``{"validationUrl": ...}``, else None."""
    if isinstance(doc, dict) and set(doc) == {"validationUrl"}:
        url = doc["validationUrl"]
        return url if isinstance(url, str) else None
    return None


def _first_str(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def adobe_item(element: Any) -> AdobeItem:
    if not isinstance(element, dict):
        return AdobeItem(element, None, None, None)
    event = element.get("event")
    inner = event if isinstance(event, dict) else {}
    body = inner.get("body")
    if isinstance(body, dict):
        cloudevent: dict[str, Any] | None = body
    elif isinstance(event, dict):
        cloudevent = event
    else:
        cloudevent = element
    return AdobeItem(
        raw=element,
        cloudevent=cloudevent,
        adobe_event_id=_first_str(element.get("eventid"), element.get("event_id")),
        recipient=_first_str(
            element.get("recipientclientid"),
            element.get("recipient_client_id"),
            inner.get("recipientclientid"),
            inner.get("recipient_client_id"),
        ),
    )


def adobe_items(doc: Any) -> list[AdobeItem]:
    if isinstance(doc, list):
        return [adobe_item(element) for element in doc]
    if isinstance(doc, dict):
        return [adobe_item(doc)]
    raise UnusableInput(
        "invalid_delivery", f"expected a JSON object or array, got {type(doc).__name__}"
    )


def direct_push(doc: Any) -> DirectPush:
    if isinstance(doc, list):
        return DirectPush(munchkin_id=None, message_id=None, activities=doc)
    if not isinstance(doc, dict):
        raise UnusableInput(
            "invalid_delivery", f"expected a JSON object or array, got {type(doc).__name__}"
        )
    activities = doc.get("activities")
    if not isinstance(activities, list):
        raise UnusableInput(
            "invalid_delivery",
            f"'activities' must be an array of activities, got {shorten(activities)}",
        )
    munchkin = doc.get("munchkinId")
    if munchkin is not None and not isinstance(munchkin, str):
        raise UnusableInput(
            "invalid_delivery", f"'munchkinId' must be a string: {shorten(munchkin)}"
        )
    message_id = doc.get("messageId")
    return DirectPush(
        munchkin_id=munchkin or None,
        message_id=None if message_id is None else str(message_id),
        activities=activities,
    )


_CONTAINERS = frozenset({dict, list})  # all orjson produces

# orjson refuses to serialize containers nested 255 deep ("Recursion limit reached"; pinned by
# tests/ingest/test_parse.py), and it walks in C. A document wrapped in 254 - limit lists fails
# exactly when it nests deeper than ``limit``.
ORJSON_MAX_DEPTH = 254


def deeper_than(doc: Any, limit: int) -> bool:
    """True if containers nest more than ``limit`` levels: decided by orjson's own depth limit
    (one pass in C, a fifth of the walk's time on 500-activity pushes), and by ``walked_deeper``
    where orjson fails for another reason or the limit is beyond its own."""
    if type(doc) not in _CONTAINERS:
        return False
    if not 0 <= limit < ORJSON_MAX_DEPTH:
        return walked_deeper(doc, limit)
    wrapped, inner = _wrapping(ORJSON_MAX_DEPTH - limit)
    inner.append(doc)
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError as exc:
        return str(exc) == "Recursion limit reached" or walked_deeper(doc, limit)
    finally:
        inner.clear()
        _WRAPPINGS[ORJSON_MAX_DEPTH - limit].append((wrapped, inner))
    return False


_WRAPPINGS: dict[int, list[tuple[list[Any], list[Any]]]] = {}


def _wrapping(levels: int) -> tuple[list[Any], list[Any]]:
    """``levels`` nested lists and the innermost, from a pool: built once, not per delivery,
    and never shared by two checks at a time (``list.pop`` is atomic)."""
    pool = _WRAPPINGS.setdefault(levels, [])
    if pool:
        with contextlib.suppress(IndexError):
            return pool.pop()
    outer: list[Any] = []
    inner = outer
    for _ in range(levels - 1):
        below: list[Any] = []
        inner.append(below)
        inner = below
    return outer, inner


def walked_deeper(doc: Any, limit: int) -> bool:
    """``deeper_than`` by walking the document in Python, level by level, so hostile input
    cannot exhaust the stack; only containers are kept."""
    if type(doc) not in _CONTAINERS:
        return False
    level: list[Any] = [doc]
    depth = 1
    while level:
        if depth > limit:
            return True
        below: list[Any] = []
        for node in level:
            children = node.values() if type(node) is dict else node
            below += [child for child in children if type(child) in _CONTAINERS]
        level = below
        depth += 1
    return False
