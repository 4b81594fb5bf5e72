"""``to_record``: what the loop reads from a Kafka record before any JSON is decoded."""

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.consume.record import Partition, _to_record, header, to_record
from pipeline.envelope import Envelope
from pipeline.topics import Headers, route
from tests.pipeline.events import OTHER, audit, lead, notification
from tests.pipeline.workers.harness import input_topics

TOPICS = input_topics("unit")


@dataclass
class Raw:
    """The attributes of an aiokafka ConsumerRecord that ``to_record`` reads."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@pytest.mark.parametrize(
    "env",
    [
        lead(10, "884201", munchkin=OTHER),
        audit("Email", "approve"),
        notification("campaign_abort", {"campaignId": 7}),
    ],
    ids=lambda e: e.stream.value,
)
def test_a_record_of_the_ingress_gives_tenant_stream_type_and_id(env: Envelope) -> None:
    out = route(env, TOPICS)
    record = to_record(Partition(out.topic, 2), Raw(5, 1000, out.key, out.value, out.headers))
    assert (record.event_id, record.munchkin_id, record.stream, record.event_type) == (
        env.id,
        env.munchkinid,
        env.stream.value,
        env.eventtype,
    )
    assert (record.partition, record.offset, record.timestamp_ms) == (
        Partition(out.topic, 2),
        5,
        1000,
    )
    assert record.envelope() == env


def test_headers_of_an_older_ingress_still_name_tenant_and_stream() -> None:
    # Records written before the ingress stopped repeating the tenant and stream as headers:
    # the headers win, whatever the topic is called and whatever the key holds.
    headers: Headers = (
        ("ce_specversion", b"1.0"),
        ("ce_id", b"e-1"),
        ("munchkin_id", b"321-XYZ-987"),
        ("stream", b"user-audit"),
        ("event_type", b"email.approve"),
    )
    record = to_record(Partition("renamed", 0), Raw(0, 0, b"other:key", b"{}", headers))
    assert (record.event_id, record.munchkin_id, record.stream, record.event_type) == (
        "e-1",
        "321-XYZ-987",
        "user-audit",
        "email.approve",
    )


def test_a_bare_record_on_another_topic_names_nothing() -> None:
    record = to_record(Partition("unit.lead-scores", 0), Raw(0, 0, None, None, ()))
    assert (record.event_id, record.munchkin_id, record.stream, record.event_type) == (
        "",
        "",
        "",
        "",
    )
    keyed = to_record(Partition("unit.lead-activity", 0), Raw(0, 0, b"123-ABC-456", None, ()))
    assert (keyed.munchkin_id, keyed.stream) == ("123-ABC-456", "lead-activity")


NAMES = (
    "content-type",
    "ce_id",
    "ce_time",
    "event_type",
    "ce_subject",
    "activity_type_id",
    "munchkin_id",
    "stream",
    "ce_specversion",
)
LAYOUTS = (  # the ingress' own orders (pipeline.topics.record_headers), read by position
    NAMES[:4],
    NAMES[:5],
    NAMES[:4] + NAMES[5:6],
    NAMES[:6],
)
values = st.one_of(st.none(), st.binary(max_size=6), st.sampled_from([b"a:b", b":", b"\xff"]))
any_headers = st.lists(st.tuples(st.sampled_from(NAMES), values), max_size=8).map(tuple)
ingress_headers = st.sampled_from(LAYOUTS).flatmap(
    lambda names: st.tuples(*(st.tuples(st.just(n), values) for n in names))
)
# near misses: an ingress layout with one name changed, or one header more
near_misses = st.tuples(ingress_headers, st.integers(0, 6), st.sampled_from(NAMES)).map(
    lambda h: (*h[0][: h[1]], (h[2], b"x"), *h[0][h[1] + 1 :])
)


def every_near_miss() -> list[Headers]:
    """Each ingress layout with each name in each place (or added at the end)."""
    found = []
    for names in LAYOUTS:
        full: Headers = tuple((n, f"v{i}".encode()) for i, n in enumerate(names))
        for at in range(len(full) + 1):
            for name in NAMES:
                found.append((*full[:at], (name, b"x"), *full[at + 1 :]))
    return found


@pytest.mark.parametrize("topic", ["unit.lead-activity", "x"])
def test_every_near_miss_of_the_ingress_layout_reads_as_through_a_dict(topic: str) -> None:
    part = Partition(topic, 0)
    for headers in every_near_miss():
        raw = Raw(3, 1000, b"123-ABC-456:42", b"{}", headers)
        assert to_record(part, raw) == _to_record(part, raw, None), headers


@settings(max_examples=400)
@given(
    st.one_of(ingress_headers, near_misses, any_headers),
    st.one_of(st.none(), st.binary(max_size=12), st.sampled_from([b"123-ABC-456:42", b":x"])),
    st.sampled_from(["unit.lead-activity", "unit.user-audit", "unit.lead-scores", "x"]),
    st.booleans(),
)
def test_reading_headers_by_position_gives_the_record_a_dict_of_them_gives(
    headers: Headers, key: bytes | None, topic: str, stream_given: bool
) -> None:
    part = Partition(topic, 1)
    raw = Raw(3, 1000, key, b"{}", headers)
    stream = "lead-activity" if stream_given else None
    assert to_record(part, raw, stream) == _to_record(part, raw, stream)
    assert to_record(part, raw) == _to_record(part, raw, None)
    for name in NAMES:
        assert header(headers, name) == dict(headers).get(name)
