"""Deliveries for the two delivery routes: realistic direct pushes and Adobe I/O batches, bent
towards other tenants, defects and extreme values."""

import copy
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.draws import (
    apply_edit,
    auths,
    byte_edits,
    claims,
    edits,
    extremes,
    field_edit,
    integers,
    method_and_target,
    pick,
    rarely,
    signatures,
    tokens,
    transport,
)
from tests.fuzz.model import (
    MAX_EVENTS,
    OWN,
    OWN_CLIENT,
    SBX,
    SHARED_CLIENT,
    STA,
    TENANTS,
    UNKNOWN_CLIENT,
    Body,
    Deep,
    FuzzCase,
    token_tenant,
)
from tests.fuzz.values import (
    ADOBE,
    ADOBE_IDS,
    ADOBE_TIMES,
    DEEP_LEVELS,
    FILLS,
    PUSH,
    PUSH_IDS,
    PUSH_TIMES,
    TENANT_FIELDS,
)
from tests.support import payloads as p

# ---- direct push --------------------------------------------------------------------------------

ACTIVITY_TYPES = (
    (2, "Fill Out Form"),
    (1, "Visit Webpage"),
    (6, "Send Email"),
    (10, "Open Email"),
    (13, "Change Data Value"),
    (100001, "Webinar Attended"),
)


LEAD = 884201


def _guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


DEFECTS = (
    "no-lead-id",
    "type-id-text",
    "type-id-unknown",
    "bad-time",
    "not-an-object",
    "no-type-id",
)


def spoil(activity: dict[str, Any], defect: str) -> Any:
    """An activity the ingress cannot normalize (it must dead-letter it, never drop it)."""
    if defect == "not-an-object":
        return [activity]
    spoiled = dict(activity)
    if defect == "no-lead-id":
        del spoiled["leadId"]
    elif defect == "type-id-text":
        spoiled["activityTypeId"] = "2"
    elif defect == "type-id-unknown":
        spoiled["activityTypeId"] = 9999
        del spoiled["activityType"]
    elif defect == "bad-time":
        spoiled["activityDate"] = "not a time"
    else:
        del spoiled["activityTypeId"]
    return spoiled


@st.composite
def _activity(draw: st.DrawFn) -> tuple[Any, bool]:
    """One direct-push activity, and whether it is untouched."""
    type_id, name = draw(pick(ACTIVITY_TYPES))
    activity: Any = p.activity(type_id, name, lead=LEAD, guid=_guid(0))
    clean = True
    if rarely(draw, 15):
        activity["munchkinId"] = claims(draw)
        clean = False
    if rarely(draw, 5):
        activity["data"] = {"munchkinId": claims(draw)}
        clean = False
    if extremes(draw, activity, PUSH_TIMES, PUSH_IDS):
        clean = False
    if rarely(draw, 12):
        activity = spoil(activity, draw(pick(DEFECTS)))
        clean = False
    return activity, clean


# Lists of composites shrink well: Hypothesis deletes whole events that do not matter.
ACTIVITIES = st.lists(_activity(), max_size=8)


def renumber(events: list[Any]) -> None:
    """Distinct ids per event (drawn events all start with those of the first)."""
    for n, event in enumerate(events):
        replacements = {
            _guid(0): _guid(n),
            "fuzz-event-0": f"fuzz-event-{n}",
            str(LEAD): str(LEAD + n),
            LEAD: LEAD + n,
        }
        stack = [event]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in node.items():
                    if isinstance(value, str | int) and not isinstance(value, bool):
                        if value in replacements:
                            node[key] = replacements[value]
                    else:
                        stack.append(value)
            elif isinstance(node, list):
                stack.extend(node)


def push_bodies(draw: st.DrawFn, tenant: str) -> tuple[Body, bool, int]:
    """A direct push for ``tenant``: the body, whether it is untouched, and its activity count."""
    drawn = draw(ACTIVITIES)
    activities = [activity for activity, _ in drawn]
    renumber(activities)
    clean = all(untouched for _, untouched in drawn)
    count = len(activities)
    bare = rarely(draw, 15)
    doc: Any = activities if bare else p.direct_push(activities, munchkin=tenant)
    if not bare and rarely(draw, 15):
        claim = "<absent>" if rarely(draw, 20) else claims(draw)
        if claim == "<absent>":
            del doc["munchkinId"]
        else:
            doc["munchkinId"] = claim
        clean = False
    changes = edits(draw)
    if rarely(draw, 4):
        changes.append(("attributes", draw(integers(0, 7)), False, Deep(draw(pick(DEEP_LEVELS)))))
    for change in changes:
        apply_edit(doc, change)
    fill = draw(pick(FILLS)) if count and rarely(draw, 2) else 0
    edit = byte_edits(draw)
    clean = clean and not changes and edit is None and fill + count <= MAX_EVENTS
    return Body(doc, edit, fill), clean and not bare, count + (fill if count else 0)


def push_cases(draw: st.DrawFn) -> FuzzCase:
    token = tokens(draw)
    tenant = token_tenant(token) or draw(pick(TENANTS))
    auth, auth_clean = auths(draw, token)
    body, body_clean, events = push_bodies(draw, tenant)
    options, transport_clean = transport(draw)
    method, target, target_clean = method_and_target(draw, PUSH)
    pristine = tenant == token_tenant(token) and auth_clean and body_clean
    pristine = pristine and transport_clean and target_clean
    return FuzzCase(
        method,
        target,
        body=body,
        auth=auth,
        pristine_events=events if pristine else None,
        **options,
    )


# ---- Adobe I/O ----------------------------------------------------------------------------------

EVENT_KINDS = (
    "lead-activity",
    "audit",
    "audit-inner",
    "audit-old",
    "notification",
    "lead-activity-old-names",
    "lead-activity-both-names",
    "unknown-type",
    "observability",
)
CLEAN_EVENT_KINDS = EVENT_KINDS[:7]
COMMON_EVENT_KINDS = EVENT_KINDS[:5]
RECIPIENTS = (SHARED_CLIENT, OWN_CLIENT, UNKNOWN_CLIENT, "<absent>", "")
CONFIGURED_RECIPIENTS = RECIPIENTS[:2]
OWN_MUNCHKINS = {SHARED_CLIENT: (STA, SBX), OWN_CLIENT: (OWN,)}
NO_MUNCHKINS = (STA,)  # for recipients that map to none: any configured one will do
ADOBE_FILLS = (19, MAX_EVENTS, MAX_EVENTS + 1)


def build_event(kind: str, client: str, munchkin: Any) -> dict[str, Any]:
    # A copy: payloads share nested values with the simulator's catalog (notification actions),
    # which edits would otherwise change for every later event.
    return copy.deepcopy(_event(kind, client, munchkin))


def _event(kind: str, client: str, munchkin: Any) -> dict[str, Any]:
    if kind.startswith("lead-activity"):
        event = p.lads_event(
            data=p.lads_data(lead=str(LEAD), munchkin=munchkin),
            old_names=kind.endswith("old-names"),
            both_names=kind.endswith("both-names"),
            client_id=client,
            ce_id=_guid(0),
        )
        for name in ("eventid", "event_id"):
            if name in event:
                event[name] = "fuzz-event-0"
        return event
    if kind.startswith("audit"):
        body = p.audit_body("Email", "approve", munchkin=munchkin)
        shape = {"audit": "body", "audit-inner": "inner", "audit-old": "old"}[kind]
        event = p.wrapped(body, shape=shape, client_id=client)
    elif kind == "notification":
        event = p.wrapped(
            p.notification_body("campaign_abort", munchkin=munchkin), client_id=client
        )
    else:
        event = p.lads_event(
            data=p.lads_data(lead=str(LEAD), munchkin=munchkin), client_id=client, ce_id=_guid(0)
        )
        event["type"] = (
            "com.adobe.platform.marketo.observability.webhook"
            if kind == "observability"
            else "com.example.unknown"
        )
    for name in ("eventid", "event_id"):
        if name in event:
            event[name] = "fuzz-event-0"
    return event


def _without_recipient(event: Any) -> None:
    for holder in (event, event.get("event")):
        if isinstance(holder, dict):
            holder.pop("recipientclientid", None)
            holder.pop("recipient_client_id", None)


@st.composite
def _adobe_event(draw: st.DrawFn) -> tuple[Any, bool]:
    """One Adobe I/O event of any stream and shape, and whether it is untouched."""
    kind = draw(pick(EVENT_KINDS)) if rarely(draw, 10) else draw(pick(COMMON_EVENT_KINDS))
    client = draw(pick(RECIPIENTS)) if rarely(draw, 8) else draw(pick(CONFIGURED_RECIPIENTS))
    own = OWN_MUNCHKINS.get(client, NO_MUNCHKINS)
    munchkin = draw(pick(own)) if not rarely(draw, 18) else claims(draw)
    event = build_event(kind, client or SHARED_CLIENT, munchkin)
    if client == "<absent>":
        _without_recipient(event)
    elif client == "":
        event["recipientclientid"] = ""
    extreme = extremes(draw, event, ADOBE_TIMES, ADOBE_IDS)
    clean = kind in CLEAN_EVENT_KINDS and client in CONFIGURED_RECIPIENTS
    return event, clean and munchkin in own and not extreme


ADOBE_EVENTS = st.lists(_adobe_event(), min_size=1, max_size=4)


def adobe_bodies(draw: st.DrawFn) -> tuple[Body, bool, int]:
    if rarely(draw, 2):
        doc: Any = {"validationUrl": "https://csm.adobe.io/csm/registrations/verify?token=x"}
        return Body(doc), False, 0
    drawn = draw(ADOBE_EVENTS)
    events = [event for event, _ in drawn]
    renumber(events)
    clean = all(untouched for _, untouched in drawn)
    count = len(events)
    doc = events[0] if count == 1 and rarely(draw, 15) else events
    changes = edits(draw)
    if rarely(draw, 10):
        changes.append(field_edit(draw, TENANT_FIELDS))
    if rarely(draw, 4):
        changes.append(("data", draw(integers(0, 7)), False, Deep(draw(pick(DEEP_LEVELS)))))
    for change in changes:
        apply_edit(doc, change)
    fill = draw(pick(ADOBE_FILLS)) if rarely(draw, 2) else 0
    edit = byte_edits(draw)
    clean = clean and not changes and edit is None
    total = count + fill if isinstance(doc, list) else (fill + 1 if fill else 1)
    return Body(doc, edit, fill), clean and total <= MAX_EVENTS, total


def adobe_cases(draw: st.DrawFn) -> FuzzCase:
    body, body_clean, events = adobe_bodies(draw)
    signature, signature_clean = signatures(draw)
    options, transport_clean = transport(draw)
    method, target, target_clean = method_and_target(draw, ADOBE)
    auth = None
    if rarely(draw, 4):  # a push credential on the Adobe route authenticates nothing there
        auth, _ = auths(draw, tokens(draw))
    pristine = body_clean and signature_clean and transport_clean and target_clean
    return FuzzCase(
        method,
        target,
        body=body,
        auth=auth,
        signature=signature,
        pristine_events=events if pristine and auth is None else None,
        **options,
    )
