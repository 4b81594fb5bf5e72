from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import UnusableInput
from ingest.normalize import normalize_adobe, normalize_direct_push, stream_of
from ingest.parse import adobe_items
from ingest.streams.common import normalized_time, parse_time
from pipeline.activity_types import standard_names
from pipeline.envelope import Stream, Via, format_time
from tests.support import payloads as p

AT = "2026-03-05T11:00:03.000Z"


def one(delivery: Any) -> Any:
    outcome = normalize_adobe(adobe_items(delivery), AT, None)
    assert not outcome.dead_letters, outcome.dead_letters
    [envelope] = outcome.envelopes
    return envelope


def test_lead_activity_flat_event() -> None:
    event = p.lads_event("standard.changedatavalue", data=p.lads_data(13, "Change Data Value"))
    env = one(event)
    assert env.id == event["id"]
    assert env.adobeeventid == event["eventid"]
    assert env.stream is Stream.LEAD_ACTIVITY
    assert env.eventtype == "changedatavalue"
    assert env.subject == "884201"
    assert env.munchkinid == p.MUNCHKIN
    assert env.source == f"marketo:{p.MUNCHKIN}"
    assert env.time == "2026-03-02T09:15:04.000Z"
    assert env.receivedat == AT
    assert env.data is event["data"]
    assert env.via is Via.ADOBE_IO


def test_custom_activity() -> None:
    env = one(p.lads_event("custom", data=p.lads_data(100004, "Product Trial Started")))
    assert env.eventtype == "custom"
    assert env.type == "com.adobe.platform.marketo.activity.custom"


def test_numeric_lead_id_is_accepted() -> None:
    assert one(p.lads_event(data=p.lads_data(lead=884201))).subject == "884201"


def test_same_activity_same_id_whichever_path() -> None:
    guid = p.uid()
    direct = normalize_direct_push([p.activity(10, "Open Email", guid=guid)], p.MUNCHKIN, AT)
    adobe = one(p.lads_event(ce_id=guid))
    assert direct.envelopes[0].id == adobe.id == guid
    assert direct.envelopes[0].type == adobe.type
    assert direct.envelopes[0].eventtype == adobe.eventtype == "openemail"


@pytest.mark.parametrize(("type_id", "name"), sorted(standard_names().items()))
def test_every_listed_activity_type_maps_to_its_adobe_type(type_id: int, name: str) -> None:
    [env] = normalize_direct_push([p.activity(type_id, name)], p.MUNCHKIN, AT).envelopes
    expected = "".join(ch for ch in name.lower() if ch.isalnum())
    assert env.type == f"com.adobe.platform.marketo.activity.standard.{expected}"
    assert env.data["munchkinId"] == p.MUNCHKIN
    assert env.via is Via.DIRECT_PUSH


def test_direct_push_custom_ids_and_unknown_ids() -> None:
    [custom] = normalize_direct_push([p.activity(100001, "Trial")], p.MUNCHKIN, AT).envelopes
    assert custom.eventtype == "custom"
    [named] = normalize_direct_push([p.activity(999, "Attend Event")], p.MUNCHKIN, AT).envelopes
    assert named.eventtype == "attendevent"
    nameless = p.activity(999, "Attend Event")
    del nameless["activityType"]
    outcome = normalize_direct_push([nameless], p.MUNCHKIN, AT)
    assert [d.reason for d in outcome.dead_letters] == ["unknown_activity_type"]


def test_direct_push_without_guid_gets_a_stable_hash_id() -> None:
    a = p.activity()
    del a["marketoGUID"]
    first = normalize_direct_push([a], p.MUNCHKIN, AT).envelopes[0].id
    again = normalize_direct_push([dict(a)], p.MUNCHKIN, "2027-01-01T00:00:00.000Z").envelopes[0].id
    assert first == again
    assert first.startswith("sha256:")


@pytest.mark.parametrize("component", sorted(p.AUDIT_COMPONENTS))
@pytest.mark.parametrize("shape", ["body", "inner", "old"])
def test_every_audit_component_and_shape(component: str, shape: str) -> None:
    suffix, actions = p.AUDIT_COMPONENTS[component]
    for action in actions:
        element = p.wrapped(p.audit_body(component, action), shape=shape)
        env = one(element)
        assert env.stream is Stream.USER_AUDIT
        assert env.eventtype == f"{suffix}." + action.lower().replace(" ", "_")
        assert env.subject == "40512"
        assert env.id == (element.get("eventid") or element.get("event_id"))
        assert env.time == "2026-03-03T14:02:11.318Z"  # no zone upstream: read as UTC


def test_audit_old_shape_prefers_cloudevent_id() -> None:
    body = p.audit_body("Email", "approve") | {"id": "ce-1"}
    assert one(p.wrapped(body, shape="old")).id == "ce-1"


@pytest.mark.parametrize("kind", sorted(p.NOTIFICATIONS))
def test_every_notification_type(kind: str) -> None:
    element = p.wrapped(p.notification_body(kind))
    env = one(element)
    assert env.stream is Stream.NOTIFICATION
    assert env.eventtype == kind
    assert env.data["eventAction"] == p.NOTIFICATIONS[kind]["eventAction"]


def test_notification_subject_is_the_campaign_when_there_is_one() -> None:
    assert one(p.wrapped(p.notification_body("campaign_abort"))).subject == "40512"
    assert one(p.wrapped(p.notification_body("web_services"))).subject == "dailyQuota"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e["data"].pop("leadId"), "missing_lead_id"),
        (lambda e: e["data"].pop("munchkinId"), "missing_munchkin_id"),
        (lambda e: e.pop("data"), "missing_data"),
        (lambda e: e.update(type="com.example.other"), "unknown_type"),
        (lambda e: e.pop("type"), "missing_type"),
        (lambda e: e.update(time="yesterday"), "invalid_time"),
        (
            lambda e: e.update(type="com.adobe.platform.marketo.observability.metrics"),
            "unknown_type",
        ),
    ],
)
def test_unusable_events_become_dead_letters_with_reason(mutate: Any, reason: str) -> None:
    good, bad = p.lads_event(), p.lads_event()
    mutate(bad)
    outcome = normalize_adobe(adobe_items([good, bad]), AT, "fallback")
    assert len(outcome.envelopes) == 1
    [letter] = outcome.dead_letters
    assert letter.reason == reason
    assert letter.via is Via.ADOBE_IO
    assert letter.munchkinid in (p.MUNCHKIN, "fallback")


def test_lenient_times() -> None:
    assert (
        parse_time("2020-05-28T19:20:47.28Z", "t").isoformat() == "2020-05-28T19:20:47.280000+00:00"
    )
    assert (
        parse_time("2024-07-11 13:20:42.755", "t").isoformat() == "2024-07-11T13:20:42.755000+00:00"
    )
    assert parse_time("2026-03-02T10:15:04+01:00", "t").hour == 10
    assert parse_time(1_700_000_000_000, "t") == parse_time(1_700_000_000, "t")
    with pytest.raises(UnusableInput):
        parse_time(True, "t")


def test_stream_of_needs_a_suffix() -> None:
    with pytest.raises(UnusableInput):
        stream_of("com.adobe.platform.marketo.activity.")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    # the range orjson.loads produces ints in; beyond it JSON numbers decode as floats
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "data",
                    "event",
                    "body",
                    "id",
                    "leadId",
                    "munchkinId",
                    "eventid",
                    "time",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_becomes_envelopes_or_dead_letters_never_an_exception(doc: Any) -> None:
    try:
        items = adobe_items(doc)
    except UnusableInput:
        return
    outcome = normalize_adobe(items, AT, None)
    assert len(outcome.envelopes) + len(outcome.dead_letters) == len(items)
    for env in outcome.envelopes:
        env.to_json()


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=5))
def test_any_activity_list_is_fully_accounted_for(activities: list[Any]) -> None:
    outcome = normalize_direct_push(activities, p.MUNCHKIN, AT)
    assert len(outcome.envelopes) + len(outcome.dead_letters) == len(activities)


TIME_SHAPES = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.{ms}Z",
    "%Y-%m-%dT%H:%M:%S.{us}Z",
    "%Y-%m-%dT%H:%M:%S+00:00",
    "%Y-%m-%d %H:%M:%S",
)


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),
    st.sampled_from(TIME_SHAPES),
)
def test_the_text_fast_path_gives_what_formatting_the_parsed_time_gives(
    moment: datetime, shape: str
) -> None:
    text = moment.strftime(shape).format(
        ms=f"{moment.microsecond // 1000:03d}", us=f"{moment.microsecond:06d}"
    )
    assert normalized_time(text, "t") == format_time(parse_time(text, "t"))


@pytest.mark.parametrize("text", ["2026-02-30T10:00:00Z", "2026-11-29T24:00:00.000Z"])
def test_the_fast_path_still_refuses_impossible_dates(text: str) -> None:
    with pytest.raises(UnusableInput, match="not a date-time"):
        normalized_time(text, "t")
