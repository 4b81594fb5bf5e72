"""A dead letter of the journal or of the REST backfill is redriven through its own path, under
the principal that read it, and keeps its ``via``."""

import orjson

from ingest.redrive import RedriveFilter, redrive
from pipeline.envelope import DeadLetter, Envelope, Via
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings
from pipeline.topics import route_dead_letter
from tests.pipeline.workers.harness import read_topic
from tests.support import payloads as p
from tests.support.ingress import Ingress

AT = "2026-03-02T09:15:05.000Z"


def letter(doc: object, via: Via, name: str) -> DeadLetter:
    return DeadLetter(name, orjson.dumps(doc), "old_bug", "x", p.MUNCHKIN, None, via, AT)


async def test_journal_and_rest_letters_go_back_through_their_paths(ingress: Ingress) -> None:
    event = {k: v for k, v in p.lads_event().items() if "recipient" not in k}  # as journaled
    activity = p.activity(type_id=2, name="Fill Out Form", lead=770001)
    letters = [
        (letter(event, Via.ADOBE_IO_JOURNAL, "sha256:j"), f"adobe:{p.CLIENT_ID}"),
        (letter(activity, Via.MARKETO_REST, "sha256:r"), f"marketo-rest:{p.MUNCHKIN}"),
        (letter(activity, Via.MARKETO_REST, "sha256:x"), "marketo-rest:999-NOT-999"),
    ]
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    async with Publisher(kafka, ingress.topics, create_topics=False) as publisher:
        await publisher.wait_ready(30)
        await publisher.publish([route_dead_letter(d, ingress.topics, who) for d, who in letters])
    report = await redrive(kafka, ingress.topics, ingress.admission, RedriveFilter(), dry_run=False)
    assert (report.redriven, report.refused) == (2, {"tenant_mismatch": 1})
    records = await read_topic(ingress.bootstrap, ingress.topics.lead_activity.name)
    vias = {Envelope.from_json(r.value).via for r in records}
    assert vias == {Via.ADOBE_IO_JOURNAL, Via.MARKETO_REST}
