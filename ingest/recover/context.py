"""What every recovery run is built from, once per process: the settings, the topics and the
cursor topic, the metrics, the tenant gate's limits, and the publisher of what it recovers."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ingest.intake import Admission
from ingest.recover.cursor import Cursors
from ingest.recover.metrics import RecoveryMetrics
from ingest.recover.retry import Backoff
from ingest.recover.scan import present_ids
from ingest.recover.sink import Sink
from ingest.settings import Settings
from pipeline.publish import Publisher
from pipeline.topics import Topics, build_topics, recovery_cursor_topic

READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Context:
    settings: Settings
    topics: Topics
    cursors: Cursors
    metrics: RecoveryMetrics
    admission: Admission

    @classmethod
    def of(cls, settings: Settings) -> "Context":
        topics = build_topics(settings.topics, settings.kafka.max_record_bytes)
        return cls(
            settings,
            topics,
            Cursors(settings.kafka, recovery_cursor_topic(settings.topics)),
            RecoveryMetrics.create(),
            Admission.of(settings.tenants, settings.server),
        )

    def backoff(self, *, forever: bool) -> Backoff:
        r = self.settings.recovery
        return Backoff(r.retry_initial_s, r.retry_max_s, None if forever else r.max_attempts)

    @contextlib.asynccontextmanager
    async def publisher(self) -> AsyncIterator[Publisher]:
        await self.cursors.ensure()
        async with Publisher(
            self.settings.kafka, self.topics, create_topics=self.settings.topics.create
        ) as publisher:
            await publisher.wait_ready(READY_TIMEOUT_S)
            yield publisher

    async def sink(self, publisher: Publisher, present_since_s: float | None) -> Sink:
        """``present_since_s``: skip events published since then (epoch seconds, less the
        configured margin); None publishes everything read."""
        if present_since_s is None:
            return Sink(publisher, self.topics, None)
        since_s = present_since_s - self.settings.recovery.presence_margin_s
        ids = await present_ids(self.settings.kafka, self.topics, int(since_s * 1000))
        return Sink(publisher, self.topics, ids)
