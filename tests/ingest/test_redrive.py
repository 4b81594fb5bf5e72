"""Dead-letter redrive against the real broker: what today's code can normalize is published
once, what it cannot stays, and filters and dry runs hold."""

from datetime import UTC, datetime

import orjson

from ingest.redrive import RedriveFilter, ledger_topic, redrive
from pipeline.envelope import DeadLetter, Envelope, Via
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings
from pipeline.topics import route_dead_letter
from tests.support import payloads as p
from tests.support.ingress import Ingress

AT = "2026-03-02T09:15:05.000Z"


async def dead_letter_a_good_event(ingress: Ingress) -> dict:  # type: ignore[type-arg]
    """What an older ingress with a bug would have written: a valid event, refused."""
    event = p.lads_event()
    letter = DeadLetter(
        "sha256:old",
        orjson.dumps(event),
        "unknown_type",
        "old bug",
        p.MUNCHKIN,
        None,
        Via.ADOBE_IO,
        AT,
    )
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    async with Publisher(kafka, ingress.topics, create_topics=False) as publisher:
        await publisher.wait_ready(30)
        await publisher.publish([route_dead_letter(letter, ingress.topics)])
    return event


async def test_redrive_publishes_what_is_fixed_once(ingress: Ingress) -> None:
    still_bad = p.lads_event()
    del still_bad["data"]["leadId"]
    assert (await ingress.post_adobe(still_bad)).status == 200
    fixed = await dead_letter_a_good_event(ingress)
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    lead_topic = ingress.topics.lead_activity.name

    dry = await redrive(kafka, ingress.topics, ingress.admission, RedriveFilter(), dry_run=True)
    assert (dry.examined, dry.matched, dry.redriven) == (2, 2, 1)
    assert dry.still_unusable == {"missing_lead_id": 1}
    assert len(await ingress.records(lead_topic)) == 0

    first = await redrive(kafka, ingress.topics, ingress.admission, RedriveFilter(), dry_run=False)
    assert (first.redriven, first.envelopes) == (1, 1)
    [record] = await ingress.records(lead_topic)
    envelope = Envelope.from_json(record.value)
    assert envelope.id == fixed["id"]
    assert envelope.adobeeventid == fixed["eventid"]
    assert record.key == f"{p.MUNCHKIN}:884201".encode()
    assert len(await ingress.records(ledger_topic(ingress.topics).name)) == 1

    again = await redrive(kafka, ingress.topics, ingress.admission, RedriveFilter(), dry_run=False)
    assert (again.already_redriven, again.redriven) == (1, 0)
    assert len(await ingress.records(lead_topic)) == 1


async def test_redrive_filters(ingress: Ingress) -> None:
    await dead_letter_a_good_event(ingress)
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    cases = {
        RedriveFilter(munchkin_id="999-OTH-999"): 0,
        RedriveFilter(munchkin_id=p.MUNCHKIN): 1,
        RedriveFilter(reason="malformed_json"): 0,
        RedriveFilter(reason="unknown_type"): 1,
        RedriveFilter(since=datetime(2026, 3, 3, tzinfo=UTC)): 0,
        RedriveFilter(until=datetime(2026, 3, 3, tzinfo=UTC)): 1,
    }
    for chosen, matched in cases.items():
        report = await redrive(kafka, ingress.topics, ingress.admission, chosen, dry_run=True)
        assert report.matched == matched, chosen


async def test_direct_push_dead_letters_are_redriven_with_their_tenant(ingress: Ingress) -> None:
    body = orjson.dumps(p.direct_push([p.activity(), p.activity()]))
    letter = DeadLetter(
        "sha256:x", body, "unknown_type", "old bug", p.MUNCHKIN, None, Via.DIRECT_PUSH, AT
    )
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    async with Publisher(kafka, ingress.topics, create_topics=False) as publisher:
        await publisher.wait_ready(30)
        await publisher.publish([route_dead_letter(letter, ingress.topics)])
    report = await redrive(kafka, ingress.topics, ingress.admission, RedriveFilter(), dry_run=False)
    assert (report.redriven, report.envelopes) == (1, 2)
    records = await ingress.records(ingress.topics.lead_activity.name)
    assert {r.key.partition(b":")[0] for r in records} == {p.MUNCHKIN.encode()}
