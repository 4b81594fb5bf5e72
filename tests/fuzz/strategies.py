"""Hypothesis strategies for one request to the ingress.

Every choice shrinks towards the plain, valid request (integer draws shrink to 0, and 0 always
means "leave it as a real client would send it"), so a shrunk failure shows only the hostile parts
that matter. Deliveries start as the realistic documents of tests/payloads.py and are then bent:
other tenants' munchkin IDs and recipients, extreme values in time, id and number fields, deep
nesting, byte edits, encodings, header bytes no client should send.
"""

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from hypothesis import strategies as st

from tests.fuzz import model as m
from tests.fuzz.model import (
    INVALID_TOKENS,
    MAX_EVENTS,
    OWN,
    OWN_CLIENT,
    SBX,
    SHARED_CLIENT,
    SIG_MODES,
    STA,
    TENANTS,
    UNCONFIGURED,
    UNKNOWN_CLIENT,
    VALID_TOKENS,
    Auth,
    Big,
    Body,
    ByteEdit,
    Deep,
    FuzzCase,
    Raw,
    SigSlot,
    token_tenant,
)
from tests.support import payloads as p

T = TypeVar("T")

PUSH = m.PUSH_PATH
ADOBE = m.ADOBE_PATH
ODD_PATHS = (
    b"/",
    b"/v1/lead-activity/",
    b"/v1/LEAD-ACTIVITY",
    b"//v1/adobe-io",
    b"/v1/../v1/adobe-io",
    b"/v1/adobe-io/..",
    b"/%00",
    b"/v1/lead-activity%00",
    b"/v1/%2e%2e/healthz",
    b"/x%0d%0aFORGED-LOG-LINE",
    b"*",
    b"http://127.0.0.1/v1/lead-activity",
    b"/" + b"a" * 5000,
    b"/v1/adobe-io?challenge=x&challenge=y",
    b"/v1/lead-activity?munchkinId=111-STA-111",
    b"/\xff\xfe",
    b"/v1/lead-activity#fragment",
    b"",
)
OTHER_METHODS = (
    *m.METHODS,
    b"PROPFIND",
    b"FUZZ",
    b"post",
    b"G\x00T",
    b"\x16\x03\x01\x02\x00\x01",  # the start of a TLS ClientHello on the plain port
)
VERSIONS_ODD = (b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.1x", b"")

# Bytes that no client should put in a header: controls, CR, LF, NUL, invalid and odd UTF-8.
HOSTILE_BYTES = (
    b"\xff",
    b"\r",
    b"\x00",
    b"\n",
    b"\xc3\x28",
    b"\x80",
    b"\x7f",
    b"\x01",
    b"\x1b[31m",
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xe2\x80\xa8",
    b"\xc2\xa0",
    b"\xef\xbb\xbf",
    b" ",
    b"\t",
    b"\r\n",
    b"\r\n ",
)
SCHEMES: tuple[bytes, ...] = (
    b"Bearer ",
    b"bearer ",
    b"",
    b"BEARER ",
    b"Bearer  ",
    b"Bearer\t",
    b"Basic ",
    b"Token ",
)
SCHEMES += (b"Bearer", b"Bearer: ", b"Bearer Bearer ")
CLEAN_SCHEMES = (b"Bearer ", b"bearer ", b"")

CONTENT_TYPES: tuple[bytes | None, ...] = (
    b"application/json",
    None,
    b"application/json; charset=utf-8",
    b"application/cloudevents+json",
    b"application/cloudevents-batch+json; charset=utf-8",
    b"text/plain",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=x",
    b"application/json\x00",
    b"application/json; charset=\xff",
    b"",
    b"*/*",
    b"APPLICATION/JSON",
    b"application/json; charset=latin-1",
    b"application/json, text/plain",
)
CLEAN_CONTENT_TYPES = CONTENT_TYPES[:5]
ENCODING_NAMES = (
    "none",
    "gzip",
    "deflate",
    "identity",
    "deflate-raw",
    "GZIP-upper",
    "x-gzip",
    "gzip-gzip-double",
    "gzip-gzip-once",
    "gzip-label-plain",
    "deflate-label-plain",
    "gzip-truncated",
    "gzip-trailing-garbage",
    "br",
    "zstd",
    "compress",
    "garbage",
    "empty-label",
    "gzip-q",
)
CLEAN_ENCODINGS = ENCODING_NAMES[:4]
BOMBS = ("gzip-bomb", "deflate-bomb", "gzip-gzip-bomb")

EXTRA_HEADERS: tuple[tuple[tuple[bytes, bytes], ...], ...] = (
    ((b"Expect", b"100-continue"),),
    ((b"X-Forwarded-For", b"\xff\xfe, 10.0.0.1"),),
    ((b"Accept", b"application/json"),),
    ((b"Content-Length", b"0"),),
    ((b"Transfer-Encoding", b"gzip"),),
    ((b"Host", b"evil.example"),),
    ((b"Content-Type", b"text/plain"),),
    ((b"X Bad Name", b"v"),),
    ((b"X-\xff", b"v"),),
    ((b"Connection", b"keep-alive, Upgrade"), (b"Upgrade", b"websocket")),
    ((b"Cookie", b"a=" + b"b" * 6000),),
    ((b"X-Adobe-Digital-Signature-1", b"AAAA"), (b"X-Adobe-Public-Key1-Path", b"/x")),
    tuple((b"X-Junk-%d" % i, b"v" * 40) for i in range(120)),
    ((b"X-Long", b"y" * 9000),),
    ((b"X-Null", b"a\x00b"),),
)

TIME_FIELDS = ("activityDate", "time", "messageCreatedDate")
ID_FIELDS = (
    "leadId",
    "marketoGUID",
    "id",
    "eventid",
    "event_id",
    "activityTypeId",
    "componentId",
    "campaignId",
    "userId",
    "messageId",
    "subType",
    "componentType",
    "activityType",
    "type",
    "specversion",
    "source",
    "eventAction",
)
NUMBER_FIELDS = (
    "primaryAttributeValueId",
    "activityLogItemId",
    "value",
    "dailyQuota",
    "percent",
    "componentId",
    "campaignId",
)
STRUCTURE_FIELDS = ("data", "event", "body", "activities", "attributes", "munchkinId")
TENANT_FIELDS = ("munchkinId", "recipientclientid", "recipient_client_id")

SPECIAL_VALUES: tuple[Any, ...] = (
    1e15,
    1e300,
    -1e300,
    -1,
    Raw("123456789012345678901234567890"),
    "9999-12-31T23:59:59-14:00",
    "0000-00-00",
    "0001-01-01T00:00:00+14:00",
    0,
    None,
    True,
    False,
    "",
    " ",
    1.5e308,
    -1.5e308,
    5e-324,
    -0.0,
    0.5,
    10**11,
    10**11 + 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    253402300799,
    253402300800,
    253402300799999,
    253402300800000,
    -62135596800,
    -62135596801,
    Raw("1e400"),
    Raw("-1e400"),
    Raw("18446744073709551616"),
    Raw("-9223372036854775809"),
    Raw("1E+308"),
    Raw("1e-400"),
    Raw("-0"),
    Raw('"\\ud800"'),
    Raw('"\\udfff\\ud800"'),
    Raw('"\\u0000"'),
    "9999-12-31T23:59:59.999999Z",
    "2026-02-30T00:00:00Z",
    "2026-03-05T10:59:58Z",
    "2026-03-05 10:59:58.123",
    "2026-03-05T10:59:58+25:00",
    "+275760-09-13T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "T",
    "1e300",
    "NaN",
    "Infinity",
    "-1",
    "999999999999999999999",
    "\x00",
    "\u202e",
    "\U0001f600",
    "\\",
    '"',
    "null",
    [],
    {},
    [1, "a"],
    {"a": {"b": 1}},
    Deep(33),
    Deep(200),
    Big("x", 10_000),
    Big("\u00e9", 5_000),
    Big("9", 400),
)
CLAIMS: tuple[Any, ...] = (
    *TENANTS,
    UNCONFIGURED,
    STA.lower(),
    f" {SBX} ",
    "",
    None,
    Raw("123"),
    Big("9", 10_000),
    f"{STA}:{SBX}",
)
# The values most likely to break time, id and number handling, tried on every event's own fields
# more often than the general edits would.
EXTREME_TIMES: tuple[Any, ...] = (
    1e15,
    1e300,
    -1e300,
    "9999-12-31T23:59:59-14:00",
    "0000-00-00",
    -1,
    Raw("123456789012345678901234567890"),
    "0001-01-01T00:00:00+14:00",
    2**63 - 1,
    -62135596801,
    253402300800,
    253402300800000,
    Raw("1e400"),
    1.5e308,
    "",
    "+275760-09-13T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-03-05T10:59:58+25:00",
    True,
    None,
    [],
    {},
    Big("9", 400),
)
EXTREME_IDS: tuple[Any, ...] = (
    True,
    1.5,
    {},
    "",
    Big("x", 10_000),
    -1,
    0,
    False,
    -0.0,
    {"id": 1},
    [],
    " ",
    2**64 - 1,
    Raw("18446744073709551616"),
    1e300,
    None,
    "\x00",
    Raw('"\\ud800"'),
)
PUSH_TIMES = ("activityDate",)
PUSH_IDS = (
    "leadId",
    "marketoGUID",
    "activityTypeId",
    "primaryAttributeValueId",
    "activityLogItemId",
)
ADOBE_TIMES = ("time", "activityDate")
ADOBE_IDS = (
    "id",
    "eventid",
    "leadId",
    "activityTypeId",
    "componentId",
    "campaignId",
    "userId",
    "activityLogItemId",
    "primaryAttributeValueId",
)
DEEP_LEVELS = (33, 32, 31, 100, 250, 1100)
FILLS = (100, MAX_EVENTS - 1, MAX_EVENTS, MAX_EVENTS + 1, 5000)
FIELD_GROUPS = (TIME_FIELDS, ID_FIELDS, NUMBER_FIELDS, STRUCTURE_FIELDS)
ALL_PATHS = m.ROUTE_PATHS + ODD_PATHS
VALID_NAMES = tuple(VALID_TOKENS)
EDIT_BYTES = (
    b"\xff",
    b"\xef\xbb\xbf",
    b"\x00",
    b",",
    b"]",
    b"}}}",
    b"\xed\xa0\x80",
    b"null",
    b"[]",
    b"{}",
    b'"text"',
    b"1e400",
    b"",
)


# Strategies are built once: building one per draw costs more than drawing from it.
_PICKS: dict[int, tuple[Sequence[Any], st.SearchStrategy[Any]]] = {}
PERCENT = st.integers(0, 99)


def pick(options: Sequence[T]) -> st.SearchStrategy[T]:
    """Shrinks to the first option."""
    cached = _PICKS.get(id(options))
    if cached is None or cached[0] is not options:
        cached = _PICKS[id(options)] = (options, st.sampled_from(options))
    return cached[1]


@cache
def integers(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def rarely(draw: st.DrawFn, percent: int) -> bool:
    """True about ``percent`` times in a hundred; shrinks to False."""
    return draw(PERCENT) >= 100 - percent


BINARY = st.binary(max_size=48)


def json_int(value: int) -> Any:
    return value if -(2**63) <= value < 2**64 else Raw(str(value))


VALUES: st.SearchStrategy[Any] = st.one_of(
    # Twice: the hand-picked values are the ones most likely to matter.
    pick(SPECIAL_VALUES),
    pick(SPECIAL_VALUES),
    st.integers(min_value=-(2**70), max_value=2**70).map(json_int),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=24),
    pick(CLAIMS),
)


def field_edit(draw: st.DrawFn, fields: Sequence[str]) -> tuple[str, int, bool, Any]:
    """(field, which occurrence, delete?, new value)."""
    name = draw(pick(fields))
    occurrence = draw(integers(0, 7))
    delete = rarely(draw, 12)
    return name, occurrence, delete, None if delete else draw(VALUES)


def _occurrences(doc: Any, name: str) -> tuple[list[tuple[dict[str, Any], str]], list[Any]]:
    found: list[tuple[dict[str, Any], str]] = []
    containers: list[Any] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            containers.append(node)
            for key, child in node.items():
                if key == name:
                    found.append((node, key))
                stack.append(child)
        elif isinstance(node, list):
            containers.append(node)
            stack.extend(node)
    return found, containers


def apply_edit(doc: Any, edit: tuple[str, int, bool, Any]) -> None:
    """Set (or delete) the n-th occurrence of a field; add it to the n-th container if absent."""
    name, occurrence, delete, value = edit
    # A copy: the values' lists and objects are module constants, and a later edit may add to
    # whatever this one put in place (one shared list inside itself makes every walk endless).
    value = copy.deepcopy(value)
    found, containers = _occurrences(doc, name)
    if found:
        parent, key = found[occurrence % len(found)]
        if delete:
            del parent[key]
        else:
            parent[key] = value
    elif containers and not delete:
        target = containers[occurrence % len(containers)]
        if isinstance(target, dict):
            target[name] = value
        else:
            target.append(value)


def extremes(draw: st.DrawFn, event: Any, times: Sequence[str], ids: Sequence[str]) -> bool:
    """Put an extreme value in one time field and one id or number field of an event (each
    sometimes); True if it did."""
    changed = False
    if rarely(draw, 8):
        apply_edit(event, (draw(pick(times)), 0, False, draw(pick(EXTREME_TIMES))))
        changed = True
    if rarely(draw, 8):
        apply_edit(event, (draw(pick(ids)), 0, False, draw(pick(EXTREME_IDS))))
        changed = True
    return changed


def edits(draw: st.DrawFn) -> list[tuple[str, int, bool, Any]]:
    """None in half the cases; else one to four, each in a time, id, number or structure field."""
    how_many = draw(integers(0, 9))
    count = (0, 0, 0, 0, 0, 1, 1, 1, 2, 4)[how_many]
    return [field_edit(draw, draw(pick(FIELD_GROUPS))) for _ in range(count)]


def byte_edits(draw: st.DrawFn) -> ByteEdit | None:
    if not rarely(draw, 10):
        return None
    kind = draw(pick(("truncate", "insert", "prefix", "suffix", "replace")))
    at = draw(integers(0, 400))
    data = draw(pick(EDIT_BYTES)) if not rarely(draw, 30) else draw(BINARY)
    return ByteEdit(kind, at, data)


# ---- credentials --------------------------------------------------------------------------------


def tokens(draw: st.DrawFn) -> str:
    """A token name: three times in four one that is valid for some tenant."""
    if rarely(draw, 25):
        return draw(pick(INVALID_TOKENS))
    return draw(pick(VALID_NAMES))


def claims(draw: st.DrawFn) -> Any:
    """Another munchkin ID: mostly a configured tenant's, else an odd one."""
    if rarely(draw, 40):
        return draw(pick(CLAIMS))
    return draw(pick(TENANTS))


def auths(draw: st.DrawFn, token: str) -> tuple[Auth | None, bool]:
    """An Authorization header for the token (or none), and whether it is one a client sends."""
    if rarely(draw, 5):
        return None, False
    scheme = draw(pick(SCHEMES)) if rarely(draw, 15) else b"Bearer "
    pad = draw(pick((b" ", b"\t", b"  \t "))) if rarely(draw, 6) else b""
    inject = None
    if rarely(draw, 12):
        inject = (draw(integers(0, 64)), draw(pick(HOSTILE_BYTES)))
    repeat = draw(pick((2, 320, 2000))) if rarely(draw, 3) else 1
    duplicate = tokens(draw) if rarely(draw, 3) else None
    auth = Auth(token, scheme, pad, inject, repeat, duplicate)
    clean = scheme in CLEAN_SCHEMES and not pad and inject is None and repeat == 1
    return auth, clean and duplicate is None


def signatures(draw: st.DrawFn) -> tuple[tuple[SigSlot, SigSlot], bool]:
    slots = []
    for _ in range(2):
        mode = draw(pick(SIG_MODES)) if rarely(draw, 22) else "valid"
        inject = None
        if rarely(draw, 6):
            inject = (draw(integers(0, 400)), draw(pick(HOSTILE_BYTES)))
        slots.append(SigSlot(mode, inject))
    first, second = slots
    modes = {first.mode, second.mode}
    clean = modes <= {"valid", "absent"} and "valid" in modes
    clean = clean and first.inject is None and second.inject is None
    return (first, second), clean


# ---- transport: method, target, headers, encoding -----------------------------------------------


def transport(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    content_type = draw(pick(CONTENT_TYPES)) if rarely(draw, 15) else b"application/json"
    encoding = "none"
    if rarely(draw, 25):
        encoding = draw(pick(ENCODING_NAMES))
    elif rarely(draw, 1):  # each costs the ingress seconds of CPU (it inflates the whole GiB)
        encoding = draw(pick(BOMBS))
    chunked = rarely(draw, 8)
    headers = draw(pick(EXTRA_HEADERS)) if rarely(draw, 8) else ()
    clean = content_type in CLEAN_CONTENT_TYPES and encoding in CLEAN_ENCODINGS and not headers
    options = {
        "content_type": content_type,
        "encoding": encoding,
        "chunked": chunked,
        "headers": headers,
    }
    return options, clean


def method_and_target(draw: st.DrawFn, path: bytes) -> tuple[bytes, bytes, bool]:
    if not rarely(draw, 6):
        return b"POST", path, True
    if rarely(draw, 50):
        return draw(pick(OTHER_METHODS)), path, False
    return b"POST", draw(pick(ODD_PATHS)), False


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


# ---- the other routes ---------------------------------------------------------------------------

CHALLENGES = (
    b"abc123",
    b"",
    b"%00",
    b"%0d%0aFORGED-LOG-LINE",
    b"%ff%fe",
    b"%e2%80%ae",
    b"a+b%20c",
    b"x" * 256,
    b"x" * 257,
    b"x" * 9000,
    b"%F0%9F%98%80",
    b"\xff",
)


def challenge_cases(draw: st.DrawFn) -> FuzzCase:
    value = draw(pick(CHALLENGES))
    query = b"?challenge=" + value if not rarely(draw, 10) else draw(pick((b"", b"?x=1", b"?")))
    headers = ((b"Accept", b"application/json"),) if rarely(draw, 40) else ()
    method = draw(pick((b"GET", b"HEAD", b"PUT"))) if rarely(draw, 10) else b"GET"
    return FuzzCase(method, ADOBE + query, headers=headers)


def other_requests(draw: st.DrawFn) -> FuzzCase:
    method = draw(pick(OTHER_METHODS))
    target = draw(pick(ALL_PATHS))
    body = Body(draw(VALUES)) if rarely(draw, 30) else None
    options, _ = transport(draw)
    version = draw(pick(VERSIONS_ODD)) if rarely(draw, 20) else b"HTTP/1.1"
    return FuzzCase(method, target, body=body, version=version, **options)


@st.composite
def fuzz_cases(draw: st.DrawFn) -> FuzzCase:
    """One request: mostly deliveries on the two delivery routes, the rest everything else."""
    kind = draw(integers(0, 99))
    if kind < 44:
        return push_cases(draw)
    if kind < 86:
        return adobe_cases(draw)
    if kind < 92:
        return challenge_cases(draw)
    return other_requests(draw)
