"""What the upstream was told against what Kafka holds: the columns of the chaos table.

* **acknowledged**: distinct events in the simulator's ack file (answered 2xx).
* **found**: of those, the ones on their topic: an envelope topic holds a record whose ``ce_id``
  is the event id; a malformed event is on the dead-letter topic in a record with the expected
  ``dl_reason`` whose raw bytes contain the id.
* **lost** = acknowledged - found (+ effects the workers lost, see ``effects.py``). Must be 0.
* **duplicates on the topic**: records beyond the first of each ``ce_id``, on every topic.
  Allowed (at-least-once): a delivery retried after a fault may have reached Kafka the first time.
* **duplicate effects**: what is left after the consumers' dedup. The records of each envelope
  topic partition go, in offset order, through the ``DedupMemory`` every worker's consume loop
  keeps per partition; an id that still passes twice (copies in different partitions, or past
  the memory) would be handled twice. Must be 0.
"""

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from pipeline.dedup import DedupMemory
from pipeline.reader import read_all
from pipeline.settings import KafkaSettings

STREAMS = ("lead-activity", "user-audit", "notification")
DEAD_LETTER = "dead-letter"
EXAMPLES = 5
READ_TIMEOUT_S = 120.0

Records = list[ConsumerRecord[Any, Any]]


@dataclass(frozen=True)
class Ack:
    topic: str  # short name: lead-activity, user-audit, notification, dead-letter
    id: str
    reason: str = ""


@dataclass(frozen=True)
class Tally:
    acknowledged: int
    found: int
    duplicates_on_topic: int
    duplicate_effects: int
    lost_effects: int = 0  # workers: activities not counted, alerts not fired (effects.py)
    missing: tuple[str, ...] = ()  # a few lost ids, to look for

    @property
    def lost(self) -> int:
        return self.acknowledged - self.found + self.lost_effects


def read_acks(path: Path) -> set[Ack]:
    acks = set()
    for line in path.read_bytes().splitlines():
        doc = orjson.loads(line)
        acks.add(Ack(doc["topic"], doc["id"], doc.get("reason", "")))
    return acks


def header(record: ConsumerRecord[Any, Any], name: str) -> str:
    for key, value in record.headers:
        if key == name:
            return bytes(value).decode("utf-8", "replace")
    return ""


async def read_topics(bootstrap: str, prefix: str) -> dict[str, Records]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    return {short: await read_all(kafka, f"{prefix}.{short}") for short in (*STREAMS, DEAD_LETTER)}


def duplicates_on_topic(records: Records) -> int:
    return len(records) - len({header(r, "ce_id") for r in records})


def duplicate_effects(records: Records) -> int:
    """Ids handled more than once after each partition's dedup memory, as a worker would."""
    memories: dict[int, DedupMemory] = defaultdict(DedupMemory)
    handled: Counter[str] = Counter()
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        event_id = header(r, "ce_id")
        if memories[r.partition].add(event_id, r.timestamp / 1000):
            handled[event_id] += 1
    return sum(n - 1 for n in handled.values())


def _dead_letter_found(acks: Iterable[Ack], letters: Records) -> set[Ack]:
    by_reason: dict[str, list[bytes]] = defaultdict(list)
    for r in letters:
        by_reason[header(r, "dl_reason")].append(bytes(r.value or b""))
    return {a for a in acks if any(a.id.encode() in value for value in by_reason.get(a.reason, ()))}


def tally(acks: set[Ack], topics: dict[str, Records]) -> Tally:
    on_topic = {short: {header(r, "ce_id") for r in topics[short]} for short in STREAMS}
    found = {a for a in acks if a.topic in on_topic and a.id in on_topic[a.topic]}
    found |= _dead_letter_found((a for a in acks if a.topic == DEAD_LETTER), topics[DEAD_LETTER])
    missing = sorted(f"{a.topic}:{a.id}" for a in acks - found)
    return Tally(
        acknowledged=len(acks),
        found=len(found),
        duplicates_on_topic=sum(duplicates_on_topic(rs) for rs in topics.values()),
        duplicate_effects=sum(duplicate_effects(topics[s]) for s in STREAMS),
        missing=tuple(missing[:EXAMPLES]),
    )


async def check(
    bootstrap: str, prefix: str, ack_file: Path, extra: Sequence[Ack] = ()
) -> tuple[Tally, dict[str, Records]]:
    """The tally of one scenario; ``extra`` adds events acknowledged some other way."""
    async with asyncio.timeout(READ_TIMEOUT_S):  # a partition without a leader must not hang
        topics = await read_topics(bootstrap, prefix)
    return tally(read_acks(ack_file) | set(extra), topics), topics
