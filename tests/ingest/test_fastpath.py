"""The handlers' fast path (``ingest.fastpath``, intake with ``topics``) is the reference path
(``normalize`` → ``Envelope`` → ``route``) on generated input: the same records byte for byte
(value, key, headers, topic), the same dead letters and metric counts, the same gate decisions,
the lenient id, time and munchkin forms included. Only the record timestamps may differ (the fast
path takes the clock once per delivery)."""

from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest.accounting import prepare
from ingest.auth import TenantDirectory
from ingest.errors import IngestError
from ingest.gate import Outcome, Principal
from ingest.intake import IntakeLimits, adobe_outcome, push_outcome
from ingest.secrets import ApiToken
from ingest.tenant_settings import Tenant
from pipeline.envelope import Stream
from pipeline.settings import TopicSettings
from pipeline.topics import build_topics
from tests.support import payloads as p

OTHER = "999-OTH-999"
OTHER_CLIENT = "other-client"
AT = "2026-03-05T11:00:00.000Z"
LIMITS = IntakeLimits(max_body_bytes=1 << 20, max_json_depth=32, max_events=1000)
TOPICS = build_topics(TopicSettings(prefix="fast", partitions=3), 1 << 20)
DIRECTORY = TenantDirectory.from_tenants(
    [
        Tenant(p.MUNCHKIN, (ApiToken.from_plain("a" * 20),), p.CLIENT_ID),
        Tenant(p.SANDBOX, (), p.CLIENT_ID),
        Tenant(OTHER, (ApiToken.from_plain("b" * 20),), OTHER_CLIENT),
    ]
)
PRINCIPALS = (
    Principal.push(p.MUNCHKIN),
    Principal.adobe(p.CLIENT_ID, frozenset({p.MUNCHKIN, p.SANDBOX})),
)


Test = TypeVar("Test", bound=Callable[..., None])


def each(name: str, values: list[Any], **fixed: Any) -> Callable[[Test], Test]:
    """One explicit example per value: a refusal of one must not hide the others."""

    def mark(test: Test) -> Test:
        for value in values:
            test = example(**{name: value}, **fixed)(test)
        return test

    return mark


int64 = st.integers(-(2**63), 2**63 - 1)  # what JSON from orjson can carry
numbers = st.one_of(
    st.integers(-(10**13), 10**13),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
# Text orjson writes otherwise than as it is (escaped, or not ASCII): the fast path joins an
# envelope's bytes from text only where orjson would not change it.
ESCAPED = ['a"b', "a\\b", "a\x1fb", "a\x7fb", "é", "a\u2028b", "a/b", "\U0001f600"]
ids = st.one_of(
    st.sampled_from([None, True, False, 0, 884201, 1.5, "abc-1", " abc-1 ", "", "  ", "0", "\t7"]),
    st.sampled_from(ESCAPED),
    numbers,
    st.text(max_size=6),
    st.just([1]),
)
times = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "2026-03-02T09:15:03Z",
            "2026-03-02T09:15:03.123Z",
            "2026-13-02T09:15:03Z",
            "2026-02-30T09:15:03.000Z",
            "2026-03-02 09:15:03.755",
            "2026-03-02T09:15:03+02:00",
            " 2026-03-02T09:15:03Z",
            "2026-03-02T09:15:03.1234Z",
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "not a time",
        ]
    ),
    numbers,
    st.booleans(),
    st.text(max_size=6),
)
munchkins = st.sampled_from(
    [None, p.MUNCHKIN, f" {p.MUNCHKIN} ", f"{p.MUNCHKIN}\n", p.SANDBOX, OTHER, "", " ", 0, 7, True]
)
type_ids = st.one_of(
    st.sampled_from([1, 2, 6, 10, 11, 46, 999, 12345, 100001]),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    numbers,
)
type_names = st.one_of(
    st.none(), st.sampled_from(["Open Email", "Trial Started", "", "!!", "Fill Out Form"]), numbers
)
ACTIVITY_FIELDS = {
    "marketoGUID": ids,
    "leadId": ids,
    "activityDate": times,
    "activityTypeId": type_ids,
    "activityType": type_names,
    "munchkinId": munchkins,
}


def changes(fields: dict[str, Any]) -> Any:
    """One field changed (so the rest stays in the fast forms), or any several."""
    one = st.sampled_from(sorted(fields)).flatmap(lambda k: fields[k].map(lambda v: {k: v}))
    return st.one_of(one, st.fixed_dictionaries({}, optional=fields))


def _changed(base: dict[str, Any], changes: dict[str, Any], drop: list[str]) -> dict[str, Any]:
    out = base | changes
    for key in drop:
        out.pop(key, None)
    return out


activities = st.one_of(
    st.builds(
        _changed,
        st.builds(p.activity),
        changes(ACTIVITY_FIELDS),
        st.lists(st.sampled_from(list(ACTIVITY_FIELDS)), max_size=2),
    ),
    st.builds(p.activity),
    st.one_of(int64, st.text(max_size=3), st.none(), st.just([])),
)
pushes = st.one_of(
    st.builds(p.direct_push, st.lists(activities, max_size=6), st.sampled_from([p.MUNCHKIN])),
    st.builds(
        lambda acts, named: {"munchkinId": named, "activities": acts},
        st.lists(activities, max_size=6),
        munchkins,
    ),
    st.lists(activities, max_size=6),
)

DATA_FIELDS = {"leadId": ids, "activityDate": times, "munchkinId": munchkins, "activityTypeId": ids}
EVENT_FIELDS = {
    "id": ids,
    "time": times,
    "type": st.sampled_from(
        [
            p.LADS_PREFIX + "standard.openemail",
            p.LADS_PREFIX + "custom",
            p.LADS_PREFIX,
            "com.adobe.platform.marketo.audit.user.email",
            "elsewhere",
        ]
    ),
    "eventid": st.one_of(st.none(), st.sampled_from(["ev-1", "", " ev-2 ", *ESCAPED])),
}


def _lads(
    event_changes: dict[str, Any], data_changes: dict[str, Any], drop: list[str], client: str
) -> dict[str, Any]:
    data = _changed(p.lads_data(), data_changes, [k for k in drop if k in DATA_FIELDS])
    event = _changed(p.lads_event(data=data, client_id=client), event_changes, [])
    for key in (k for k in drop if k in EVENT_FIELDS):
        event.pop(key, None)
    return event


adobe_events = st.one_of(
    st.builds(
        _lads,
        changes(EVENT_FIELDS),
        changes(DATA_FIELDS),
        st.lists(st.sampled_from([*DATA_FIELDS, *EVENT_FIELDS]), max_size=2),
        st.sampled_from([p.CLIENT_ID, p.CLIENT_ID, OTHER_CLIENT]),
    ),
    st.builds(lambda: p.wrapped(p.audit_body(next(iter(p.AUDIT_COMPONENTS)), "approve"))),
    st.builds(lambda: p.wrapped(p.notification_body(next(iter(p.NOTIFICATIONS))))),
    st.builds(lambda e: p.lads_event() | {"data": e}, st.one_of(st.none(), int64)),
)
deliveries = st.one_of(adobe_events, st.lists(adobe_events, min_size=1, max_size=5))


def published(outcome: Outcome) -> tuple[Any, ...]:
    """What reaches Kafka and the metrics, the clock's timestamps aside."""
    prepared = prepare(outcome, TOPICS)
    records = [(r.topic, r.key, r.value, r.headers, r.partition) for r in prepared.records]
    return records, prepared.accepted, prepared.dead_letters


def decided(run: Any) -> tuple[Any, ...]:
    try:
        outcome = run()
    except IngestError as exc:  # the gate's 403, a wrong recipient, too many events
        return ("refused", type(exc), exc.code, exc.detail)
    return ("published", *published(outcome))


def _edge_activities() -> list[Any]:
    """Each lenient form the reference path strips, coerces or replaces, once."""
    a = p.activity
    return [
        a(guid=" g-1 "),
        a() | {"marketoGUID": 12},
        a() | {"marketoGUID": None},
        a(lead=" 77 "),
        a(lead=True),
        a(lead=1.0),
        a() | {"activityDate": "2026-03-05T10:59:58+01:00"},
        a() | {"activityDate": "2026-03-05T10:59:58.25Z"},
        a() | {"activityDate": 1772708398000},
        a() | {"activityDate": ""},
        a() | {"munchkinId": f" {p.MUNCHKIN} "},
        a() | {"munchkinId": ""},
        a() | {"munchkinId": OTHER},
        a(type_id=True),
        a(type_id=999, name="!!"),
        a(type_id=100001, name="Trial"),
        "not an activity",
        *(a(guid=text) for text in ESCAPED),
        *(a(lead=text) for text in ESCAPED),
    ]


@settings(max_examples=400, deadline=None)
@each("push", [p.direct_push([a]) for a in _edge_activities()], principal=PRINCIPALS[0])
@each("push", [[a] for a in _edge_activities()], principal=PRINCIPALS[1])
@given(push=pushes, principal=st.sampled_from(PRINCIPALS))
def test_a_push_publishes_the_same_by_either_path(push: Any, principal: Principal) -> None:
    content = orjson.dumps(push)
    slow = decided(lambda: push_outcome(content, principal, LIMITS, AT))
    fast = decided(lambda: push_outcome(content, principal, LIMITS, AT, topics=TOPICS))
    assert fast == slow


def _edge_events() -> list[dict[str, Any]]:
    """Each lenient form the reference path strips, coerces or replaces, once."""
    data = p.lads_data
    no_id = {k: v for k, v in p.lads_event().items() if k != "id"}
    bare = {k: v for k, v in no_id.items() if k not in ("eventid", "recipientclientid")}
    return [
        p.lads_event() | {"id": " abc-1 "},
        p.lads_event() | {"id": 1.5},
        p.lads_event() | {"id": True},
        p.lads_event() | {"id": 42},
        no_id,
        bare | {"recipientclientid": p.CLIENT_ID},
        p.lads_event() | {"time": "2026-03-02T09:15:03+02:00"},
        p.lads_event() | {"time": "2026-03-02T09:15:03.5Z"},
        p.lads_event() | {"time": None},
        p.lads_event() | {"time": ""},
        p.lads_event(data=data() | {"activityDate": 1772442903}) | {"time": None},
        p.lads_event(data=data(lead=" 77 ")),
        p.lads_event(data=data(lead=False)),
        p.lads_event(data=data(munchkin=f" {p.MUNCHKIN} ")),
        p.lads_event(data=data(munchkin=OTHER)),
        *(p.lads_event() | {"id": text} for text in ESCAPED),
        *(p.lads_event() | {"eventid": text} for text in ESCAPED),
        *(p.lads_event() | {"type": f"{p.LADS_PREFIX}standard.{text}"} for text in ESCAPED),
        *(p.lads_event(data=data(lead=text)) for text in ESCAPED),
    ]


@settings(max_examples=400, deadline=None)
@each("delivery", _edge_events())
@given(delivery=deliveries)
def test_an_adobe_delivery_publishes_the_same_by_either_path(delivery: Any) -> None:
    content = orjson.dumps(delivery)
    slow = decided(lambda: adobe_outcome(content, DIRECTORY, LIMITS, AT, authenticated=True))
    fast = decided(
        lambda: adobe_outcome(content, DIRECTORY, LIMITS, AT, authenticated=True, topics=TOPICS)
    )
    assert fast == slow


@settings(max_examples=100, deadline=None)
@given(push=pushes)
def test_every_fast_record_carries_the_tenant_its_key_names(push: Any) -> None:
    """The gate sees each fast record's tenant: one count per record, the key's first segment."""
    content = orjson.dumps(push)
    try:
        outcome = push_outcome(content, PRINCIPALS[0], LIMITS, AT, topics=TOPICS)
    except IngestError:
        return
    for part in outcome.parts:
        tenants = Counter(
            (r.key.decode().split(":")[0], Stream.LEAD_ACTIVITY) for r in part.records
        )
        assert tenants == part.record_tenants


def test_the_fast_path_takes_the_common_forms() -> None:
    """Marketo's usual forms are built fast (no envelope object is made for them)."""
    content = orjson.dumps(p.direct_push([p.activity(), p.activity(lead="884201")]))
    [part] = push_outcome(content, PRINCIPALS[0], LIMITS, AT, topics=TOPICS).parts
    assert (len(part.records), part.envelopes, part.dead_letters) == (2, [], [])
    event = orjson.dumps([p.lads_event(), p.lads_event()])
    outcome = adobe_outcome(event, DIRECTORY, LIMITS, AT, authenticated=True, topics=TOPICS)
    assert [len(part.records) for part in outcome.parts] == [1, 1]
