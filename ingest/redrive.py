"""``datastreams redrive``: re-publish dead-lettered events once the code that refused them is
fixed.

Each dead letter's raw bytes go through today's parser and normalizer again. What now becomes
envelopes is published to its stream topic, exactly as the ingress would have; what still cannot
be normalized stays where it is and is reported with today's reason. Idempotent: every redriven
dead letter is recorded (by its topic-partition-offset) in the compacted ledger topic
``<prefix>.dead-letter-redriven``, and later runs skip it; the envelope ids are the same ones the
ingress would have given, so consumers deduplicate even a redrive that crashed half-way.
Filters: tenant (munchkin ID), reason, receive time; ``--dry-run`` publishes nothing.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from ingest.errors import MalformedJson, UnusableInput
from ingest.normalize import Outcome, dead_letter, normalize_adobe, normalize_direct_push
from ingest.parse import adobe_items, decode_json
from ingest.streams.common import parse_time
from pipeline.admin import create_missing, partitions_of, wait_writable
from pipeline.envelope import Via
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings, client_options
from pipeline.topics import OutboundRecord, Topic, Topics, route

log = logging.getLogger(__name__)

LEDGER_SUFFIX = "dead-letter-redriven"
READY_TIMEOUT_S = 30.0
PUBLISH_CHUNK = 500  # records per publish call: each is acknowledged within the publish timeout


@dataclass(frozen=True)
class RedriveFilter:
    munchkin_id: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, headers: dict[str, str]) -> bool:
        if self.munchkin_id and headers.get("munchkin_id") != self.munchkin_id:
            return False
        if self.reason and headers.get("dl_reason") != self.reason:
            return False
        if self.since or self.until:
            at = parse_time(headers.get("received_at"), "received_at")
            if (self.since and at < self.since) or (self.until and at >= self.until):
                return False
        return True


@dataclass
class RedriveReport:
    examined: int = 0
    matched: int = 0
    already_redriven: int = 0
    redriven: int = 0
    envelopes: int = 0
    still_unusable: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        still = ", ".join(f"{k}={v}" for k, v in sorted(self.still_unusable.items())) or "none"
        return (
            f"examined {self.examined}, matched {self.matched}, already redriven "
            f"{self.already_redriven}, redriven {self.redriven} ({self.envelopes} envelopes), "
            f"still unusable: {still}"
        )


def ledger_topic(topics: Topics) -> Topic:
    base = topics.dead_letter
    return Topic(
        name=base.name.removesuffix("dead-letter") + LEDGER_SUFFIX,
        partitions=1,
        replication_factor=base.replication_factor,
        config={"cleanup.policy": "compact"},
    )


def renormalize(raw: bytes, headers: dict[str, str], received_at: str) -> Outcome:
    """Today's answer for a dead letter's raw bytes: envelopes, or dead letters with reasons."""
    munchkin = headers.get("munchkin_id")
    munchkin = None if munchkin in (None, "unknown") else munchkin
    try:
        doc = decode_json(raw)
    except MalformedJson as exc:
        return _unusable(exc.code, exc.detail)
    if headers.get("via") == Via.DIRECT_PUSH.value:
        if isinstance(doc, dict) and "activities" in doc:
            doc = doc["activities"]
        activities = doc if isinstance(doc, list) else [doc]
        if not munchkin:
            return _unusable("missing_munchkin_id", "the dead letter names no tenant")
        return normalize_direct_push(activities, munchkin, received_at)
    try:
        items = adobe_items(doc)
    except UnusableInput as exc:
        return _unusable(exc.reason, exc.detail)
    return normalize_adobe(items, received_at, munchkin)


def _unusable(reason: str, detail: str) -> Outcome:
    letter = dead_letter(b"", UnusableInput(reason, detail), Via.ADOBE_IO, "", munchkin=None)
    return Outcome(dead_letters=[letter])


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in record.headers}


def ledger_key(record: ConsumerRecord[Any, Any]) -> bytes:
    return f"{record.topic}:{record.partition}:{record.offset}".encode()


async def read_all(kafka: KafkaSettings, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record of the topic up to its end offsets at the time of the call."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        partitions = [TopicPartition(topic, n) for n in await partitions_of(admin, topic)]
    finally:
        await admin.close()
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        remaining = {tp for tp in partitions if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, got in batch.items():
                records.extend(r for r in got if r.offset < end[tp])
                if got and got[-1].offset >= end[tp] - 1:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def redrive(
    kafka: KafkaSettings, topics: Topics, chosen: RedriveFilter, *, dry_run: bool
) -> RedriveReport:
    ledger = ledger_topic(topics)
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        await create_missing(admin, (ledger,))
        await wait_writable(admin, {ledger.name}, READY_TIMEOUT_S)
    finally:
        await admin.close()
    done = {r.key for r in await read_all(kafka, ledger.name)}
    letters = await read_all(kafka, topics.dead_letter.name)
    report = RedriveReport(examined=len(letters))
    records: list[OutboundRecord] = []
    for letter in letters:
        headers = _headers(letter)
        if not chosen.matches(headers):
            continue
        report.matched += 1
        if ledger_key(letter) in done:
            report.already_redriven += 1
            continue
        records += _redrive_one(letter, headers, topics, ledger, report)
    if dry_run or not records:
        return report
    async with Publisher(kafka, topics, create_topics=False) as publisher:
        await publisher.wait_ready(READY_TIMEOUT_S)
        for start in range(0, len(records), PUBLISH_CHUNK):
            await publisher.publish(records[start : start + PUBLISH_CHUNK])
            log.info(
                "redrive: published %d/%d records",
                min(start + PUBLISH_CHUNK, len(records)),
                len(records),
            )
    return report


def _redrive_one(
    letter: ConsumerRecord[Any, Any],
    headers: dict[str, str],
    topics: Topics,
    ledger: Topic,
    report: RedriveReport,
) -> Sequence[OutboundRecord]:
    received_at = headers.get("received_at") or ""
    outcome = renormalize(letter.value or b"", headers, received_at)
    if outcome.dead_letters:  # redrive all of a letter or none of it
        for d in outcome.dead_letters:
            report.still_unusable[d.reason] = report.still_unusable.get(d.reason, 0) + 1
        return []
    report.redriven += 1
    report.envelopes += len(outcome.envelopes)
    marker = orjson.dumps({"envelopes": [e.id for e in outcome.envelopes]})
    done = OutboundRecord(ledger.name, ledger_key(letter), marker, (), letter.timestamp)
    return [*(route(e, topics) for e in outcome.envelopes), done]
