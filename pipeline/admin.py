"""Topic administration: create the topics we publish to and tell whether they can take writes."""

import asyncio
import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pipeline.errors import KafkaUnavailable
from pipeline.topics import Topic

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


def _new_topic(topic: Topic) -> NewTopic:
    return NewTopic(
        name=topic.name,
        num_partitions=topic.partitions,
        replication_factor=topic.replication_factor,
        topic_configs=topic.config,
    )


async def create_missing(admin: AIOKafkaAdminClient, topics: tuple[Topic, ...]) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    existing = set(await admin.list_topics())
    missing = [t for t in topics if t.name not in existing]
    if not missing:
        return []
    response = await admin.create_topics([_new_topic(t) for t in missing])
    for name, code, *rest in response.topic_errors:
        if code not in (0, TOPIC_ALREADY_EXISTS):
            message = rest[0] if rest else ""
            raise KafkaUnavailable(f"creating topic {name} failed: error {code} {message}")
    created = [t.name for t in missing]
    log.info("created topics %s", created)
    return created


def _all_led(described: list[dict[str, Any]], names: set[str]) -> bool:
    seen = set()
    for topic in described:
        partitions = topic.get("partitions") or []
        if topic.get("error_code") != 0 or not partitions:
            return False
        if any(p.get("error_code") != 0 or p.get("leader", -1) < 0 for p in partitions):
            return False
        seen.add(topic.get("topic"))
    return seen == names


async def topics_writable(admin: AIOKafkaAdminClient, names: set[str]) -> bool:
    """True when every topic exists and every partition has a leader."""
    return _all_led(await admin.describe_topics(sorted(names)), names)


async def wait_writable(admin: AIOKafkaAdminClient, names: set[str], timeout_s: float) -> None:
    # Polling: the broker offers no notification when a partition gets its leader.
    async with asyncio.timeout(timeout_s):
        while True:
            if await topics_writable(admin, names):
                return
            await asyncio.sleep(0.1)


async def partitions_of(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    """The topic's partition numbers; empty if it does not exist."""
    [described] = await admin.describe_topics([topic])
    if described.get("error_code") != 0:
        return []
    return sorted(p["partition"] for p in described.get("partitions") or [])
