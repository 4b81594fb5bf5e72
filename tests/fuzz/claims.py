"""What a request names and presents, read as the ingress should: the path it routes on, the
tenants a delivery claims, the tokens it carries."""

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from tests.fuzz import model as m

PUSH = m.PUSH_PATH
ADOBE = m.ADOBE_PATH


def effective_path(target: bytes) -> bytes:
    """The path aiohttp routes on: absolute-form targets lose scheme and host; no query."""
    if target.startswith((b"http://", b"https://")):
        target = b"/" + target.split(b"//", 1)[1].partition(b"/")[2]
    return target.partition(b"#")[0].partition(b"?")[0]


def loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def depth(doc: Any) -> int:
    """Levels of nested objects and arrays, as the ingress counts them against its limit."""
    level = [doc] if isinstance(doc, dict | list) else []
    levels = 0
    while level:
        levels += 1
        level = [c for node in level for c in _children(node) if isinstance(c, dict | list)]
    return levels


def _children(node: Any) -> Iterable[Any]:
    return node.values() if isinstance(node, dict) else node


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def push_claims(doc: Any) -> set[str]:
    """The munchkin IDs a direct push names where the ingress reads them: the top-level
    ``munchkinId`` and each activity's own."""
    claims = set()
    activities: Any = doc
    if isinstance(doc, dict):
        claims.add(_text(doc.get("munchkinId")))
        activities = doc.get("activities")
    for activity in activities if isinstance(activities, list) else []:
        if isinstance(activity, dict):
            claims.add(_text(activity.get("munchkinId")))
    claims.discard(None)
    return claims  # type: ignore[return-value]


def _first_text(*values: Any) -> str | None:
    return next((v for v in values if isinstance(v, str) and v), None)


def adobe_events(doc: Any) -> Iterator[tuple[str | None, str | None]]:
    """(recipient client id, data.munchkinId) of each event, as README's HTTP contract places
    them: flat or wrapped (``event.body`` or the older ``event``), recipient at the top level or
    inside ``event``, under either generation of field names."""
    for element in doc if isinstance(doc, list) else [doc]:
        if not isinstance(element, dict):
            yield None, None
            continue
        event = element.get("event")
        inner = event if isinstance(event, dict) else {}
        body = inner.get("body")
        cloudevent = body if isinstance(body, dict) else inner if inner else element
        data = cloudevent.get("data")
        recipient = _first_text(
            element.get("recipientclientid"),
            element.get("recipient_client_id"),
            inner.get("recipientclientid"),
            inner.get("recipient_client_id"),
        )
        yield recipient, _text(data.get("munchkinId")) if isinstance(data, dict) else None


def adobe_violations(doc: Any) -> list[str]:
    """What an accepted Adobe delivery may not contain: an event without a configured recipient,
    or one carrying a munchkin ID its own recipient does not map to. Bodies nested deeper than
    the limit and validation requests are dead-lettered or logged whole: no event is read."""
    if not isinstance(doc, dict | list) or depth(doc) > m.MAX_JSON_DEPTH:
        return []
    if isinstance(doc, dict) and set(doc) == {"validationUrl"}:
        return []
    problems = []
    for index, (recipient, claim) in enumerate(adobe_events(doc)):
        own = m.MUNCHKINS_BY_CLIENT.get(recipient or "")
        if own is None:
            problems.append(f"event {index} for recipient {recipient!r} (not configured)")
        elif claim is not None and claim not in own:
            problems.append(
                f"event {index} for recipient {recipient!r} (munchkin IDs {sorted(own)}) carries "
                f"{claim!r}"
            )
    return problems


def named_tenants(docs: Iterable[Any]) -> set[str]:
    """Every munchkin ID a body mentions anywhere (lenient: for questions about what the ingress
    may do because of a body, not about what it must do)."""
    names = set()
    stack = list(docs)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if (name := _text(node.get("munchkinId"))) is not None:
                names.add(name)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def presented_tokens(values: list[bytes]) -> set[str]:
    """Every token a reasonable reading of the Authorization headers yields."""
    tokens = set()
    for raw in values:
        value = raw.decode("utf-8", "surrogateescape").strip()
        parts = value.split()
        tokens.add(value)
        if len(parts) == 2 and parts[0].lower() == "bearer":
            tokens.add(parts[1])
    return tokens
