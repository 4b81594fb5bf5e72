"""``to_record``: what the loop reads from a Kafka record before any JSON is decoded."""

from dataclasses import dataclass

import pytest

from pipeline.consume.record import Partition, to_record
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
