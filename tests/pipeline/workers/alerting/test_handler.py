"""The alerting handler without a broker: which records it decodes, and that reading rule keys
from the headers changes no alert."""

import tomllib
from collections.abc import Sequence
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.consume.record import Record
from pipeline.errors import PublishTimeout, UnusableInput
from pipeline.publish import Publisher
from pipeline.settings import TopicSettings
from pipeline.topics import OutboundRecord, build_topics
from pipeline.workers.alerting.engine import RuleEngine
from pipeline.workers.alerting.handler import AlertingHandler, header_fields
from pipeline.workers.alerting.rule_file import parse_rules
from pipeline.workers.metrics import WorkerMetrics
from tests.pipeline.events import T0, lead, records
from tests.pipeline.workers.harness import DEPLOY

TOPICS = build_topics(TopicSettings(prefix="t", partitions=1), 1 << 20)
RULES = parse_rules(tomllib.loads((DEPLOY / "alert-rules.toml").read_text()), "default")
SEND, DELIVERED, BOUNCED, UNSUBSCRIBED, CHANGE_SCORE, OPEN = 6, 7, 8, 9, 22, 10


def handler() -> AlertingHandler:
    return AlertingHandler(
        rules=RULES,
        alerts_topic="t.alerts",
        publisher=Publisher.__new__(Publisher),  # handle() never publishes; flush() does
        sinks=[],
        metrics=WorkerMetrics.create(),
        max_keys_per_rule=1000,
        restore_horizon_s=3600,
    )


def corrupt(record: Record) -> Record:
    return record._replace(value=b"{not json")


def without_subject_header(record: Record) -> Record:
    headers = tuple((k, v) for k, v in record.headers if k != "ce_subject")
    return record._replace(headers=headers, ce_subject=None)


def test_sent_and_delivered_emails_are_decoded_only_after_an_unsubscribe_or_bounce() -> None:
    h = handler()
    sent, unsubscribed, sent_again = records(
        [lead(SEND, "L1"), lead(UNSUBSCRIBED, "L1", at_s=T0 + 1), lead(SEND, "L1", at_s=T0 + 2)],
        TOPICS,
    )
    h.handle(corrupt(sent))  # no first step waits for L1: the value is not read at all
    h.handle(unsubscribed)
    with pytest.raises(UnusableInput):  # now one waits: the value is read (and here is broken)
        h.handle(corrupt(sent_again))
    h.handle(sent_again)
    assert [a.rule for a, _ in h._outbox] == ["unsubscribed-then-emailed"]


def test_other_types_and_records_without_a_subject_header_are_decoded() -> None:
    h = handler()
    score, sent = records([lead(CHANGE_SCORE, "L2"), lead(SEND, "L2")], TOPICS)
    with pytest.raises(UnusableInput):  # a rule reads its data fields
        h.handle(corrupt(score))
    with pytest.raises(UnusableInput):  # the key cannot be read from the headers
        h.handle(corrupt(without_subject_header(sent)))
    assert header_fields(without_subject_header(sent)) is None


def test_which_types_are_followers_only_under_the_default_rules() -> None:
    engine = RuleEngine(RULES)
    followers = {}
    for type_id in (SEND, DELIVERED, BOUNCED, UNSUBSCRIBED, CHANGE_SCORE, OPEN):
        [record] = records([lead(type_id)], TOPICS)
        engine.candidates(record.stream, record.event_type)
        followers[type_id] = engine.followers_only(record.stream, record.event_type)
    assert followers == {
        SEND: True,
        DELIVERED: True,
        BOUNCED: False,
        UNSUBSCRIBED: False,
        CHANGE_SCORE: False,
        OPEN: False,  # no candidate rule at all: never decoded either
    }


lead_events = st.lists(
    st.tuples(
        st.sampled_from([SEND, DELIVERED, BOUNCED, UNSUBSCRIBED, CHANGE_SCORE, OPEN]),
        st.sampled_from(["L1", "L2", "L3"]),
        st.integers(min_value=0, max_value=400 * 3600),  # beyond the 168 h sequence window
        st.integers(min_value=-80, max_value=80),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(lead_events)
def test_reading_keys_from_headers_fires_the_same_alerts_as_decoding_every_record(
    events: list[tuple[int, str, int, int]],
) -> None:
    envs = [
        lead(t, lead_id, at_s=T0 + dt, attributes={"Change Value": str(change)})
        for t, lead_id, dt, change in sorted(events, key=lambda e: e[2])
    ]
    gated, decoding = handler(), handler()
    for record in records(envs, TOPICS):
        gated.handle(record)
        decoding.handle(without_subject_header(record))
    assert [a for a, _ in gated._outbox] == [a for a, _ in decoding._outbox]


class AckLostOnce:
    """A publisher whose first publish times out (the broker may have the records: a retry
    must write the very same ones, or a consumer sees two versions of one alert)."""

    def __init__(self) -> None:
        self.attempts: list[list[OutboundRecord]] = []

    async def publish(self, records: Sequence[OutboundRecord]) -> None:
        self.attempts.append(list(records))
        if len(self.attempts) == 1:
            raise PublishTimeout("no acknowledgement within the publish timeout")


async def test_a_flush_retried_after_a_publish_timeout_writes_the_same_alert_records() -> None:
    now = [T0 + 60]
    publisher = AckLostOnce()
    h = AlertingHandler(
        rules=RULES,
        alerts_topic="t.alerts",
        publisher=cast(Publisher, publisher),
        sinks=[],
        metrics=WorkerMetrics.create(),
        max_keys_per_rule=1000,
        restore_horizon_s=3600,
        clock=lambda: now[0],
    )
    for record in records([lead(UNSUBSCRIBED, "L1"), lead(SEND, "L1", at_s=T0 + 1)], TOPICS):
        h.handle(record)
    with pytest.raises(PublishTimeout):
        await h.flush()
    now[0] += 7  # the loop backs off before it flushes again
    await h.flush()
    first, retry = publisher.attempts
    assert [r.key for r in first] == [b"unsubscribed-then-emailed:321-XYZ-987:L1"]
    assert retry == first  # same id, same firedAt, same timestamp
    await h.flush()  # nothing left to write
    assert len(publisher.attempts) == 2
