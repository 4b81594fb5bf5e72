import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from ingest.normalize import normalize_adobe, normalize_direct_push
from ingest.parse import adobe_items
from pipeline.envelope import DeadLetter, Envelope, Stream, Via
from pipeline.publish import partition_for
from pipeline.settings import TopicSettings
from pipeline.topics import (
    build_topics,
    partition_key,
    route,
    route_dead_letter,
    stream_of_topic,
)
from tests.support import payloads as p

AT = "2026-03-05T11:00:03.000Z"
SCHEMA = json.loads(resources.files("pipeline").joinpath("schema/envelope.schema.json").read_text())
TOPICS = build_topics(TopicSettings(prefix="t"), 10 * 1024 * 1024)


def every_kind_of_envelope() -> list[Envelope]:
    items = [p.lads_event(), p.lads_event("custom", data=p.lads_data(100004, "Trial"))]
    items += [p.wrapped(p.audit_body(c, a[0])) for c, a in p.AUDIT_COMPONENTS.items()]
    items += [p.wrapped(p.notification_body(k)) for k in p.NOTIFICATIONS]
    envelopes = normalize_adobe(adobe_items(items), AT, None).envelopes
    envelopes += normalize_direct_push(
        [p.activity(), p.activity(46, "Interesting Moment")], p.MUNCHKIN, AT
    ).envelopes
    return envelopes


@pytest.mark.parametrize("envelope", every_kind_of_envelope(), ids=lambda e: e.eventtype)
def test_envelopes_match_the_shipped_schema(envelope: Envelope) -> None:
    jsonschema.validate(json.loads(envelope.to_json()), SCHEMA)
    assert Envelope.from_json(envelope.to_json()) == envelope


@pytest.mark.parametrize(
    "broken",
    [
        {"specversion": "0.3"},
        {"stream": "other"},
        {"time": "2026-03-05 11:00:03"},
        {"source": "123-ABC-456"},
        {"id": ""},
        {"unexpected": 1},
    ],
)
def test_schema_rejects_broken_envelopes(broken: dict[str, Any]) -> None:
    doc = json.loads(every_kind_of_envelope()[0].to_json()) | broken
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_topic_names_and_config() -> None:
    names = [t.name for t in TOPICS.all()]
    assert names == ["t.lead-activity", "t.user-audit", "t.notification", "t.dead-letter"]
    assert int(TOPICS.lead_activity.config["retention.ms"]) >= 7 * 24 * 3600 * 1000


def test_keys_per_stream() -> None:
    lead, *_ = normalize_adobe(adobe_items([p.lads_event()]), AT, None).envelopes
    audit, *_ = normalize_adobe(
        adobe_items([p.wrapped(p.audit_body("Email", "approve"))]), AT, None
    ).envelopes
    note, *_ = normalize_adobe(
        adobe_items([p.wrapped(p.notification_body("campaign_abort"))]), AT, None
    ).envelopes
    assert partition_key(lead) == f"{p.MUNCHKIN}:884201"
    assert partition_key(audit) == f"{p.MUNCHKIN}:Email:40512"
    assert partition_key(note) == f"{p.MUNCHKIN}:campaign_abort"


def test_record_headers_follow_the_cloudevents_kafka_binding() -> None:
    envelope = every_kind_of_envelope()[0]
    record = route(envelope, TOPICS)
    headers = dict(record.headers)
    assert record.topic == "t.lead-activity"
    assert headers == {
        "content-type": b"application/cloudevents+json",
        "ce_id": envelope.id.encode(),
        "ce_time": envelope.time.encode(),
        "event_type": b"openemail",
        "ce_subject": envelope.subject.encode(),
        "activity_type_id": str(envelope.data["activityTypeId"]).encode(),
    }
    assert len(record.headers) == len(headers)  # no header twice


@pytest.mark.parametrize("envelope", every_kind_of_envelope(), ids=lambda e: e.eventtype)
def test_what_headers_no_longer_repeat_is_in_the_key_and_the_topic(envelope: Envelope) -> None:
    record = route(envelope, TOPICS)
    assert record.key.partition(b":")[0] == envelope.munchkinid.encode()
    assert stream_of_topic(record.topic) == envelope.stream.value
    assert ("activity_type_id" in dict(record.headers)) == (
        envelope.stream is Stream.LEAD_ACTIVITY and type(envelope.data.get("activityTypeId")) is int
    )


def test_stream_of_topic_names_only_envelope_topics() -> None:
    assert [stream_of_topic(t.name) for t in TOPICS.all()] == [
        "lead-activity",
        "user-audit",
        "notification",
        "",
    ]
    assert stream_of_topic("lead-activity") == "lead-activity"
    assert stream_of_topic("t.lead-scores") == ""


def test_dead_letter_record_keeps_raw_bytes_and_reason() -> None:
    letter = DeadLetter(
        "sha256:x", b"\x00raw", "malformed_json", "at 1:1", None, None, Via.ADOBE_IO, AT
    )
    record = route_dead_letter(letter, TOPICS)
    headers = dict(record.headers)
    assert record.topic == "t.dead-letter"
    assert record.value == b"\x00raw"
    assert record.key == b"unknown"
    assert headers["dl_reason"] == b"malformed_json"
    assert headers["stream"] == b"unknown"


def test_partitioner_matches_the_java_default() -> None:
    # Java: Utils.toPositive(Utils.murmur2("a".getBytes())) % 6; murmur2("a") = 1566060143... known
    # vectors of Kafka's murmur2 (clients/src/test/.../UtilsTest.java): "21" -> -973932308.
    assert partition_for(b"21", list(range(1000))) == (-973932308 & 0x7FFFFFFF) % 1000
    same = {partition_for(b"321-XYZ-987:884201", range(6)) for _ in range(5)}
    assert len(same) == 1


def test_stream_enum_values() -> None:
    assert [s.value for s in Stream] == ["lead-activity", "user-audit", "notification"]
