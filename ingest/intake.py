"""Bytes of a delivery → the gated ``Outcome`` to publish: the one boundary every path into Kafka
goes through (the HTTP routes, redrive, the Adobe I/O journal and the Marketo REST backfill).

Every failure of decoding, parsing and normalizing ends here in its documented outcome: before
authentication a 4xx (an ``IngestError``), after it a dead letter. What it returns has passed the
tenant gate; what it raises is a refusal of the whole delivery (403, 413, or a 400 when nothing
authenticated the bytes).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from ingest import fastpath
from ingest.auth import TenantDirectory, principal_for_recipient
from ingest.errors import (
    IngestError,
    InvalidDelivery,
    MalformedJson,
    PayloadTooLarge,
    TooDeep,
    TooManyEvents,
    UnusableInput,
    WrongRecipient,
    shorten,
)
from ingest.gate import ADOBE, UNATTRIBUTED_ADOBE, Outcome, Part, Principal, admit
from ingest.normalize import (
    Normalized,
    dead_letter,
    munchkin_hint,
    normalize_adobe,
    normalize_direct_push,
)
from ingest.parse import adobe_item, adobe_items, decode_json, deeper_than, direct_push
from ingest.settings import ServerSettings
from ingest.streams.common import named_tenant
from ingest.streams.rest_activity import ActivityCatalog, push_activity
from ingest.tenant_settings import Tenant
from pipeline.envelope import Via
from pipeline.topics import Topics

NOT_DECODED: Any = object()  # the caller has not decoded the JSON yet


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """The limits a delivery's content must keep, whichever path brings it."""

    max_body_bytes: int
    max_json_depth: int
    max_events: int

    @classmethod
    def of(cls, server: ServerSettings) -> "IntakeLimits":
        return cls(server.max_body_bytes, server.max_json_depth, server.max_events_per_delivery)


@dataclass(frozen=True, slots=True)
class Admission:
    """What a path into Kafka needs to admit a delivery: today's tenants and limits."""

    directory: TenantDirectory
    limits: IntakeLimits

    @classmethod
    def of(cls, tenants: Iterable[Tenant], server: ServerSettings) -> "Admission":
        return cls(TenantDirectory.from_tenants(tenants), IntakeLimits.of(server))


def decode_limited(content: bytes, limits: IntakeLimits) -> Any:
    """JSON with a nesting limit; deeper input is refused before anything walks it further."""
    if len(content) > limits.max_body_bytes:
        raise PayloadTooLarge(f"body of {len(content)} bytes exceeds {limits.max_body_bytes}")
    doc = decode_json(content)
    if deeper_than(doc, limits.max_json_depth):
        raise TooDeep(f"JSON nests deeper than {limits.max_json_depth} levels")
    return doc


def check_count(count: int, limits: IntakeLimits) -> None:
    if count > limits.max_events:
        raise TooManyEvents(f"{count} events in one delivery; at most {limits.max_events}")


def unusable(exc: IngestError | UnusableInput) -> UnusableInput:
    return exc if isinstance(exc, UnusableInput) else UnusableInput(exc.code, exc.detail)


def unreadable(
    content: bytes, exc: IngestError | UnusableInput, via: Via, principal: Principal, at: str
) -> Outcome:
    """A body nothing could be made of (unparseable, too deep, undecodable, the wrong shape),
    kept whole, as sent, under the principal that sent it; not yet gated."""
    letter = dead_letter(content, unusable(exc), via, at, munchkin=principal.sole_tenant)
    return Outcome([Part(principal, dead_letters=[letter])])


def whole_body_letter(
    content: bytes, exc: IngestError | UnusableInput, via: Via, principal: Principal, at: str
) -> Outcome:
    return gated(unreadable(content, exc, via, principal, at))


def readable_json(content: bytes) -> Any:
    """The body as JSON if it is JSON at all (however deep or ill-shaped), else None."""
    try:
        return decode_json(content)
    except MalformedJson:
        return None


def push_claims(doc: Any) -> set[str]:
    """The munchkin IDs a push names where a push names them (its top-level ``munchkinId``, each
    activity's): read at those fixed places only, so a body too deep to walk still answers for
    the tenants it names."""
    claims: set[str | None] = set()
    activities = doc
    if isinstance(doc, dict):
        claims.add(named_tenant(doc.get("munchkinId")))
        activities = doc.get("activities")
    if isinstance(activities, list):
        claims |= {named_tenant(a.get("munchkinId")) for a in activities if isinstance(a, dict)}
    return {c for c in claims if c is not None}


def adobe_claims(doc: Any, directory: TenantDirectory) -> list[Part]:
    """For an Adobe body kept whole: each readable event's recipient and the tenant its data
    names, as empty parts for the gate (an event for recipient A naming B is refused even when
    the body as a whole cannot be used)."""
    elements = doc if isinstance(doc, list) else [doc] if isinstance(doc, dict) else []
    parts = []
    for index, element in enumerate(elements):
        if not isinstance(element, dict):
            continue
        item = adobe_item(element)
        principal = principal_for_recipient(item.recipient, index, directory)
        named = munchkin_hint(item.cloudevent)
        parts.append(Part(principal, named=set() if named is None else {named}, first_index=index))
    return parts


def push_outcome(
    content: bytes,
    principal: Principal,
    limits: IntakeLimits,
    at: str,
    doc: Any = NOT_DECODED,
    *,
    topics: Topics | None = None,
) -> Outcome:
    """A direct push authenticated as ``principal``. With ``topics``, its events come back as
    records already (``ingest.fastpath``, the handlers' path), else as envelopes."""
    try:
        push = direct_push(decode_limited(content, limits) if doc is NOT_DECODED else doc)
    except (MalformedJson, TooDeep, UnusableInput) as exc:
        outcome = unreadable(content, exc, Via.DIRECT_PUSH, principal, at)
        outcome.parts[0].named |= push_claims(readable_json(content))
        return gated(outcome)
    check_count(len(push.activities), limits)
    named = named_tenant(push.munchkin_id)
    default = named or principal.sole_tenant
    if default is None:  # a bare array under a principal of several tenants names nobody
        error = UnusableInput("missing_munchkin_id", "the push names no munchkinId")
        return whole_body_letter(content, error, Via.DIRECT_PUSH, principal, at)
    if topics is not None:
        part = fastpath.push_part(principal, push.activities, default, at, topics)
    else:
        normalized = normalize_direct_push(push.activities, default, at)
        part = Part(principal, normalized.envelopes, normalized.dead_letters)
    if named is not None:
        part.named.add(named)
    return gated(Outcome([part]))


def adobe_outcome(
    content: bytes,
    directory: TenantDirectory,
    limits: IntakeLimits,
    at: str,
    *,
    authenticated: bool,
    doc: Any = NOT_DECODED,
    topics: Topics | None = None,
) -> Outcome:
    """An Adobe I/O delivery: each event is accepted under its own recipient's principal.

    ``authenticated``: a signature verified over the bytes, so unreadable content is kept as a
    dead letter; otherwise it is refused with a 400. ``doc``: the content already decoded within
    ``limits``. ``topics``: as for ``push_outcome``."""
    try:
        items = adobe_items(decode_limited(content, limits) if doc is NOT_DECODED else doc)
    except (MalformedJson, TooDeep, UnusableInput) as exc:
        if not authenticated:
            if isinstance(exc, IngestError):
                raise
            raise InvalidDelivery(exc.detail) from exc
        outcome = unreadable(content, exc, Via.ADOBE_IO, UNATTRIBUTED_ADOBE, at)
        outcome.parts += adobe_claims(readable_json(content), directory)
        return gated(outcome)
    check_count(len(items), limits)
    parts = []
    for index, item in enumerate(items):
        principal = principal_for_recipient(item.recipient, index, directory)
        if topics is not None:
            parts.append(fastpath.adobe_part(principal, item, index, at, topics))
            continue
        normalized = normalize_adobe([item], at, principal.sole_tenant)
        parts.append(Part(principal, normalized.envelopes, normalized.dead_letters, set(), index))
    return gated(Outcome(parts))


def journal_outcome(event: Any, principal: Principal, limits: IntakeLimits, at: str) -> Outcome:
    """One journal entry's ``event``, read under its registration's principal (the client id and
    the tenants configured with it). The journal answers only its own registration, so an event
    that names no recipient is that registration's; one that names another is refused (403
    ``wrong_recipient``), and one for a tenant outside the principal by the gate."""
    if deeper_than(event, limits.max_json_depth):
        error = TooDeep(f"JSON nests deeper than {limits.max_json_depth} levels")
        return _via(whole_body_letter(orjson.dumps(event), error, Via.ADOBE_IO, principal, at))
    item = adobe_item(event)
    client = principal.credential.removeprefix(f"{ADOBE}:")
    if item.recipient is not None and item.recipient != client:
        raise WrongRecipient(f"a journal event of {shorten(client)} names another recipient")
    normalized = normalize_adobe([item], at, principal.sole_tenant)
    return gated(Outcome([_part(principal, normalized, Via.ADOBE_IO_JOURNAL)]))


def rest_outcome(
    records: list[Any], principal: Principal, catalog: ActivityCatalog, at: str
) -> Outcome:
    """Activities read from one Marketo instance's REST API, as direct-push activities of that
    instance (``ingest.streams.rest_activity``)."""
    (tenant,) = principal.tenants
    activities = [push_activity(record, catalog) for record in records]
    normalized = normalize_direct_push(activities, tenant, at)
    return gated(Outcome([_part(principal, normalized, Via.MARKETO_REST)]))


def _part(principal: Principal, normalized: Normalized, via: Via) -> Part:
    """The records of a recovery path: normalized as their push path is, marked with their own
    ``via``."""
    return Part(
        principal,
        [replace(e, via=via) for e in normalized.envelopes],
        [replace(d, via=via) for d in normalized.dead_letters],
    )


def _via(outcome: Outcome) -> Outcome:
    for part in outcome.parts:
        part.dead_letters = [replace(d, via=Via.ADOBE_IO_JOURNAL) for d in part.dead_letters]
    return outcome


def gated(outcome: Outcome) -> Outcome:
    admit(outcome)
    return outcome
