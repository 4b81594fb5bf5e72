"""Requests every run sends first (Hypothesis' explicit examples): the findings of issue 12, so a
sample run always covers them, plus one valid delivery of each route that must be accepted."""

from dataclasses import replace
from typing import Any

from tests.fuzz import model as m
from tests.fuzz.model import Auth, Body, FuzzCase, SigSlot
from tests.support import payloads as p

PUSH = m.PUSH_PATH
ADOBE = m.ADOBE_PATH
SIGNED = (SigSlot("valid"), SigSlot("valid"))


def _activity(**fields: Any) -> dict[str, Any]:
    activity = p.activity(guid="00000000-0000-4000-8000-0000000000aa")
    activity.update(fields)
    return {k: v for k, v in activity.items() if v is not None}


def _push(activities: list[Any], token: str = "static-sta-0", **options: Any) -> FuzzCase:
    tenant = m.VALID_TOKENS[token]
    body = Body(p.direct_push(activities, munchkin=tenant))
    return FuzzCase(b"POST", PUSH, body=body, auth=Auth(token), **options)


def _lead_event(client: str, munchkin: str, **fields: Any) -> dict[str, Any]:
    data = p.lads_data(munchkin=munchkin)
    event = p.lads_event(data=data, client_id=client, ce_id="00000000-0000-4000-8000-0000000000bb")
    event["eventid"] = "fuzz-regression-event"
    event.update(fields)
    return event


def _adobe(events: list[Any], **options: Any) -> FuzzCase:
    return FuzzCase(b"POST", ADOBE, body=Body(events), signature=SIGNED, **options)


def _token_with(inject: bytes) -> FuzzCase:
    return replace(_push([_activity()]), auth=Auth("static-sta-0", inject=(8, inject)))


EXAMPLES: tuple[FuzzCase, ...] = (
    # Valid deliveries: accepted whole.
    replace(_push([_activity(), _activity(activityTypeId=13)]), pristine_events=2),
    replace(_adobe([_lead_event(m.SHARED_CLIENT, m.SBX)]), pristine_events=1),
    # Header bytes: non-UTF-8, CR and NUL in the token.
    _token_with(b"\xff"),
    _token_with(b"\r"),
    _token_with(b"\x00"),
    # A gzip label on bytes that are not gzip, on both routes; a gzip bomb.
    _push([_activity()], encoding="gzip-label-plain"),
    _adobe([_lead_event(m.SHARED_CLIENT, m.STA)], encoding="gzip-label-plain"),
    _push([_activity()], encoding="gzip-bomb"),
    # Extreme event times.
    _push([_activity(activityDate=1e15)]),
    _push([_activity(activityDate=1e300)]),
    _push([_activity(activityDate=-1e300)]),
    _push([_activity(activityDate="9999-12-31T23:59:59-14:00")]),
    _adobe([_lead_event(m.SHARED_CLIENT, m.STA, time=1e300)]),
    # Another tenant's munchkin ID in an activity that cannot be normalized.
    _push([_activity(munchkinId=m.SBX, leadId=None)]),
    # A mixed Adobe batch: an event of the shared recipient carrying the other recipient's
    # munchkin ID, next to an event of that other recipient.
    _adobe([_lead_event(m.SHARED_CLIENT, m.OWN), _lead_event(m.OWN_CLIENT, m.OWN)]),
    # An opaque token of the second opaque tenant: only that tenant's IdP may see it.
    _push([_activity()], token="opaque-opb"),
)
