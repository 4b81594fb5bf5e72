"""``datastreams redrive-effects <kind>``: deliver the sink dead letters again.

An effect out of retries (a webhook down for minutes, Marketo's daily quota spent until
midnight) was written to ``<prefix>.sink-dead-letter``: the record that decided it, with the sink
and the effect's idempotency key (``dl_sink``, ``ce_id``) and where it came from
(``dl_source``). This command reads them, decides the effects of each source record again with
today's worker configuration, delivers the one that failed under the same key, and records each
letter it delivered in the compacted ``<prefix>.sink-dead-letter-redriven``, so a second run (or
one after a crash) skips it. A campaign request already in the effects ledger is not repeated.
What fails again stays, and is reported.
"""

import argparse
import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import aiohttp
import orjson
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import create_missing, wait_writable
from pipeline.consume.reader import PartitionReader
from pipeline.consume.record import Partition, Record, header
from pipeline.errors import ConfigError
from pipeline.marketo.client import MarketoClient
from pipeline.publish import Publisher
from pipeline.settings import client_options
from pipeline.topics import OutboundRecord, Topic, build_worker_topics
from pipeline.workers.command import settings_or_exit_code
from pipeline.workers.effects.handler import EffectsHandler, EffectsRole
from pipeline.workers.effects.ledger import Ledger
from pipeline.workers.history import read_since
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.registry import worker_spec
from pipeline.workers.settings import KINDS, WorkerSettings
from pipeline.workers.spec import Wiring

HELP = (
    "deliver again the worker effects that ran out of retries "
    "(config: DATASTREAMS_WORKER_CONFIG, KAFKA_BOOTSTRAP_SERVERS)"
)
READY_TIMEOUT_S = 30.0


@dataclass
class EffectsRedriveReport:
    examined: int = 0
    matched: int = 0
    already_redriven: int = 0
    redriven: int = 0
    failed_again: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        again = ", ".join(f"{k}={v}" for k, v in sorted(self.failed_again.items())) or "none"
        return (
            f"examined {self.examined}, matched {self.matched}, already redriven "
            f"{self.already_redriven}, redriven {self.redriven}, failed again: {again}"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS, help="the worker whose effects to redrive")
    parser.add_argument("--sink", help="only this sink, e.g. webhook or marketo_campaign")
    parser.add_argument("--dry-run", action="store_true", help="report, deliver nothing")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = settings_or_exit_code(args.kind, env)
    if isinstance(settings, int):
        return settings
    report = asyncio.run(redrive_effects(settings, sink=args.sink, dry_run=args.dry_run))
    print(("dry run: " if args.dry_run else "") + report.line())
    return 0 if not report.failed_again else 1


def redriven_topic(dead_letter: Topic) -> Topic:
    return replace(
        dead_letter,
        name=dead_letter.name + "-redriven",
        partitions=1,
        config={"cleanup.policy": "compact"},
    )


def source_of(letter: Record) -> Record:
    """The record that decided the effect, as the effects role read it."""
    source = header(letter.headers, "dl_source")
    if source is None:
        raise KeyError("dl_source")
    topic, partition, offset = source.decode().rsplit("/", 2)
    return letter._replace(partition=Partition(topic, int(partition)), offset=int(offset))


def letter_key(letter: Record) -> bytes:
    return f"{letter.partition}/{letter.offset}".encode()


async def redrive_effects(
    settings: WorkerSettings, *, sink: str | None = None, dry_run: bool = False
) -> EffectsRedriveReport:
    topics = build_worker_topics(settings.topics, settings.kafka.max_record_bytes)
    done_topic = redriven_topic(topics.sink_dead_letter)
    reader = PartitionReader(settings.kafka, f"{settings.kafka.client_id}-redrive-effects")
    publisher = Publisher(settings.kafka, topics.inputs, create_topics=settings.topics.create)
    async with aiohttp.ClientSession() as session, publisher:
        await publisher.wait_ready(READY_TIMEOUT_S)
        await _create(settings, (done_topic, *topics.outputs()))
        await reader.start()
        try:
            clients = {m.munchkin_id: MarketoClient(session, m) for m in settings.marketo}
            metrics = WorkerMetrics.create()
            wiring = Wiring(settings, topics, publisher, session, clients, metrics, time.time)
            role = worker_spec(settings.kind).effects(wiring)
            if role is None:
                raise ConfigError(f"the {settings.kind} worker has no effects configured")
            ledger = Ledger(topics.effects_ledger.name)
            await ledger.restore(reader)
            handler = EffectsHandler(
                name=f"{settings.kind}-effects",
                role=role,
                publisher=publisher,
                dead_letter_topic=topics.sink_dead_letter.name,
                ledger=ledger,
                metrics=metrics,
            )
            done = {r.key async for rs in read_since(reader, done_topic.name, 0) for r in rs}
            dead = topics.sink_dead_letter.name
            letters = [r async for rs in read_since(reader, dead, 0) for r in rs]
            report = EffectsRedriveReport(examined=len(letters))
            for letter in letters:
                worker = header(letter.headers, "dl_worker") or b""
                if worker.decode() != f"{settings.kind}-effects":
                    continue
                wanted = (header(letter.headers, "dl_sink") or b"").decode()
                if sink and wanted != sink:
                    continue
                report.matched += 1
                if letter_key(letter) in done:
                    report.already_redriven += 1
                    continue
                if dry_run:
                    continue
                await _redrive_one(letter, wanted, role, handler, done_topic, report)
            return report
        finally:
            await reader.stop()


async def _redrive_one(
    letter: Record,
    wanted: str,
    role: EffectsRole,
    handler: EffectsHandler,
    done_topic: Topic,
    report: EffectsRedriveReport,
) -> None:
    """Decide the letter's effect again, deliver it (the handler skips a campaign request the
    ledger holds and writes the ledger), then mark the letter done."""
    key = letter.event_id
    for effect in role.decide(source_of(letter)):
        if effect.key == key and effect.sink == wanted:
            handler.hold(effect)
    failures = await handler.deliver_held()
    if failures:
        report.failed_again[wanted] = report.failed_again.get(wanted, 0) + 1
        return
    marker = orjson.dumps({"key": key, "sink": wanted})
    done = OutboundRecord(done_topic.name, letter_key(letter), marker, (), int(time.time() * 1000))
    await handler.publish_with([done._replace(partition=0)])
    report.redriven += 1


async def _create(settings: WorkerSettings, wanted: tuple[Topic, ...]) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings.kafka))
    await admin.start()
    try:
        if settings.topics.create:
            await create_missing(admin, wanted)
        await wait_writable(admin, {t.name for t in wanted}, READY_TIMEOUT_S)
    finally:
        await admin.close()
