"""Cursors in the compacted topic ``<prefix>.recovery-cursors``: one JSON value per key, the
latest wins. A cursor is written only after Kafka acknowledged the events it covers, so a run
that dies re-reads at most the page it was publishing, whose events consumers deduplicate."""

import time
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import create_missing, wait_writable
from pipeline.reader import read_all
from pipeline.settings import KafkaSettings, client_options
from pipeline.topics import OutboundRecord, Topic

READY_TIMEOUT_S = 30.0
Cursor = dict[str, Any]


class Cursors:
    def __init__(self, kafka: KafkaSettings, topic: Topic) -> None:
        self.kafka = kafka
        self.topic = topic

    async def ensure(self) -> None:
        admin = AIOKafkaAdminClient(**client_options(self.kafka))
        await admin.start()
        try:
            await create_missing(admin, (self.topic,))
            await wait_writable(admin, {self.topic.name}, READY_TIMEOUT_S)
        finally:
            await admin.close()

    async def load(self, prefix: str = "") -> dict[str, Cursor]:
        """The latest cursor of every key that starts with ``prefix``."""
        found: dict[str, Cursor] = {}
        for record in await read_all(self.kafka, self.topic.name):
            key = bytes(record.key or b"").decode()
            if not key.startswith(prefix):
                continue
            if record.value is None:
                found.pop(key, None)
            else:
                found[key] = orjson.loads(record.value)
        return found

    def record(self, key: str, cursor: Cursor) -> OutboundRecord:
        value = orjson.dumps({**cursor, "written_at": round(time.time(), 3)})
        return OutboundRecord(self.topic.name, key.encode(), value, (), int(time.time() * 1000), 0)
