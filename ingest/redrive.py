"""``datastreams redrive``: re-publish dead-lettered events once the code that refused them is
fixed.

Each dead letter's raw bytes go through today's intake again (``ingest.intake``: the same
limits, parser, normalizer and tenant gate as the live routes), under the principal that
delivered it, rebuilt from today's configuration: the ``dl_principal`` header (``push:<munchkin>``,
``adobe:...`` or ``marketo-rest:<munchkin>``; letters written before it existed fall back to
``munchkin_id``). A letter of the journal or the REST backfill goes back through its own path.
A direct-push letter may publish only for its principal's tenant; an Adobe letter's events each
for their own recipient's tenants. What now becomes envelopes is published to its stream topic,
exactly as the ingress would have; what still cannot be normalized stays where it is and is
reported with today's reason; what the gate or a limit refuses stays too, reported as refused.

Idempotent: every redriven dead letter is recorded (by its topic-partition-offset) in the
compacted ledger topic ``<prefix>.dead-letter-redriven``, and later runs skip it; the envelope ids
are the same ones the ingress would have given, so consumers deduplicate even a redrive that
crashed half-way.
Filters: tenant (munchkin ID), reason, receive time; ``--dry-run`` publishes nothing.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from ingest.auth import TenantDirectory
from ingest.errors import IngestError, MalformedJson, TenantMismatch, shorten
from ingest.gate import ADOBE, REST, Outcome, Principal
from ingest.intake import Admission, adobe_outcome, journal_outcome, push_outcome, rest_outcome
from ingest.parse import decode_json
from ingest.streams.common import parse_time
from ingest.streams.rest_activity import ActivityCatalog
from pipeline.admin import create_missing, wait_writable
from pipeline.envelope import Via
from pipeline.publish import Publisher
from pipeline.reader import read_all
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
    refused: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        still = ", ".join(f"{k}={v}" for k, v in sorted(self.still_unusable.items())) or "none"
        refused = ", ".join(f"{k}={v}" for k, v in sorted(self.refused.items())) or "none"
        return (
            f"examined {self.examined}, matched {self.matched}, already redriven "
            f"{self.already_redriven}, redriven {self.redriven} ({self.envelopes} envelopes), "
            f"still unusable: {still}, refused: {refused}"
        )


def ledger_topic(topics: Topics) -> Topic:
    base = topics.dead_letter
    return Topic(
        name=base.name.removesuffix("dead-letter") + LEDGER_SUFFIX,
        partitions=1,
        replication_factor=base.replication_factor,
        config={"cleanup.policy": "compact"},
    )


def push_principal(headers: dict[str, str], directory: TenantDirectory) -> Principal:
    """The principal of a direct-push letter, as today's configuration knows it; 403 if none."""
    credential = headers.get("dl_principal") or f"push:{headers.get('munchkin_id', '')}"
    munchkin = credential.removeprefix("push:")
    if not credential.startswith("push:") or munchkin not in directory.tenants:
        raise TenantMismatch(f"{shorten(credential)} is not a configured direct-push tenant")
    return Principal.push(munchkin)


def recovery_principal(headers: dict[str, str], directory: TenantDirectory) -> Principal:
    """The principal of a journal or REST backfill letter, as today's configuration knows it."""
    credential = headers.get("dl_principal", "")
    kind, _, name = credential.partition(":")
    if kind == REST and name in directory.tenants:
        return Principal.rest(name)
    if kind == ADOBE and name in directory.munchkins_by_client:
        return Principal.adobe(name, directory.munchkins_by_client[name])
    raise TenantMismatch(f"{shorten(credential)} is not a configured recovery principal")


def renormalize(
    raw: bytes, headers: dict[str, str], received_at: str, admission: Admission
) -> Outcome:
    """Today's answer for a dead letter's raw bytes: a gated outcome, or a refusal (raised)."""
    limits = admission.limits
    via = headers.get("via")
    if via in (Via.MARKETO_REST.value, Via.ADOBE_IO_JOURNAL.value):
        principal = recovery_principal(headers, admission.directory)
        if via == Via.MARKETO_REST.value:  # the letter holds the activity in the push's shape
            return rest_outcome([decode_json(raw)], principal, ActivityCatalog(), received_at)
        return journal_outcome(decode_json(raw), principal, limits, received_at)
    if via == Via.DIRECT_PUSH.value:
        principal = push_principal(headers, admission.directory)
        # One activity's letter is checked as it stood in its push: inside "activities".
        content = raw if _is_whole_push(raw) else b'{"activities":[' + raw + b"]}"
        return push_outcome(content, principal, limits, received_at)
    # One event's letter is checked as it stood in its batch: inside an array.
    content = raw if raw.lstrip()[:1] == b"[" else b"[" + raw + b"]"
    return adobe_outcome(content, admission.directory, limits, received_at, authenticated=True)


def _is_whole_push(raw: bytes) -> bool:
    try:
        doc = decode_json(raw)
    except MalformedJson:
        return True  # kept whole: it was a body that did not parse
    return isinstance(doc, list) or (isinstance(doc, dict) and "activities" in doc)


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in record.headers}


def ledger_key(record: ConsumerRecord[Any, Any]) -> bytes:
    return f"{record.topic}:{record.partition}:{record.offset}".encode()


async def redrive(
    kafka: KafkaSettings,
    topics: Topics,
    admission: Admission,
    chosen: RedriveFilter,
    *,
    dry_run: bool,
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
        records += _redrive_one(letter, headers, topics, ledger, admission, report)
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
    admission: Admission,
    report: RedriveReport,
) -> Sequence[OutboundRecord]:
    received_at = headers.get("received_at") or ""
    try:
        outcome = renormalize(letter.value or b"", headers, received_at, admission)
    except IngestError as exc:  # the gate or a limit refuses it today: it stays a dead letter
        report.refused[exc.code] = report.refused.get(exc.code, 0) + 1
        log.warning("redrive refused the dead letter at offset %d: %s", letter.offset, exc.code)
        return []
    dead_letters = outcome.dead_letters()
    if dead_letters:  # redrive all of a letter or none of it
        for d in dead_letters:
            report.still_unusable[d.reason] = report.still_unusable.get(d.reason, 0) + 1
        return []
    envelopes = outcome.envelopes()
    report.redriven += 1
    report.envelopes += len(envelopes)
    marker = orjson.dumps({"envelopes": [e.id for e in envelopes]})
    done = OutboundRecord(ledger.name, ledger_key(letter), marker, (), letter.timestamp)
    return [*(route(e, topics) for e in envelopes), done]
