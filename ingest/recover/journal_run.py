"""One registration's journal into Kafka: where to start, each page through the intake and the
gate, the cursor advanced after the page's events are acknowledged, and what 204 and 410 mean.

Start: ``--since`` (a position), ``--seek`` (a duration), else the stored cursor, else the end of
the journal (``--follow``) or its oldest event (a bounded run). A bounded run ends at the first
204 (nothing newer); ``--follow`` waits the ``retry-after`` and asks again until stopped.

410 (the cursor's events are older than the journal keeps) is counted, logged as an error and
reset by the registration's ``on_expired`` policy: ``oldest`` (the oldest event still kept) or
``latest`` (the end). Either way the events between the cursor and that point are gone from the
journal; ``datastreams backfill marketo`` recovers the Lead Activity among them.

Each journal event is gated on its own: one the registration must not deliver (another
recipient, a tenant outside the registration's) is refused and counted, and the journal goes on.
"""

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from ingest.errors import IngestError
from ingest.gate import Outcome, Principal
from ingest.intake import IntakeLimits, journal_outcome
from ingest.recover.cursor import Cursors
from ingest.recover.journal import JournalClient, JournalPage
from ingest.recover.metrics import RecoveryMetrics
from ingest.recover.retry import Backoff, retrying
from ingest.recover.settings import OnExpired
from ingest.recover.sink import Sink, Tally
from pipeline.envelope import format_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JournalStart:
    since: str | None = None  # a journal position
    seek: str | None = None  # a negative ISO 8601 duration
    follow: bool = False


@dataclass
class JournalReport:
    pages: int = 0
    expired: int = 0
    caught_up: bool = False
    position: str | None = None
    tally: Tally = field(default_factory=Tally)

    def line(self, name: str) -> str:
        t = self.tally
        return (
            f"journal {name}: {self.pages} pages, published {t.published}, already present "
            f"{t.present}, dead-lettered {t.deadlettered}, refused {t.refused}, cursor expired "
            f"{self.expired} time(s), {'caught up' if self.caught_up else 'not caught up'}"
        )


def cursor_key(name: str) -> str:
    return f"journal:{name}"


@dataclass
class JournalRun:
    client: JournalClient
    principal: Principal
    sink: Sink
    cursors: Cursors
    limits: IntakeLimits
    metrics: RecoveryMetrics
    backoff: Backoff
    max_retry_after_s: float
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    report: JournalReport = field(default_factory=JournalReport)
    _newest: str | None = None

    @property
    def name(self) -> str:
        return self.client.registration.name

    def first_url(self, start: JournalStart, stored: dict[str, str] | None) -> str:
        if start.since or start.seek:
            return self.client.start_url(since=start.since, seek=start.seek)
        if stored and stored.get("position"):
            self._newest = stored.get("time")
            return self.client.start_url(since=stored["position"])
        return self.client.start_url(latest=start.follow)

    async def run(self, start: JournalStart, stored: dict[str, str] | None) -> JournalReport:
        url = self.first_url(start, stored)
        while not self.stop.is_set():
            status, page = await retrying(
                functools.partial(self.client.get, url), self.backoff, f"journal {self.name}"
            )
            self.metrics.journal_requests.labels(self.name, str(status)).inc()
            if page is None:
                continue
            if page.status == 410:
                url = self._expired()
            elif page.status == 204:
                if not await self._caught_up(start, page):
                    break
                url = page.next_url or url
            else:
                url = await self._publish(page) or url
        return self.report

    def _expired(self) -> str:
        self.report.expired += 1
        self.metrics.journal_expired.labels(self.name).inc()
        policy = self.client.registration.on_expired
        log.error(
            "journal %s: the cursor expired (410): events older than the journal keeps are lost "
            "from it; restarting at the %s event (recover Lead Activity with `backfill marketo`)",
            self.name,
            policy.value,
        )
        return self.client.start_url(latest=policy is OnExpired.LATEST)

    async def _caught_up(self, start: JournalStart, page: JournalPage) -> bool:
        """After a 204: True to ask again (``--follow``), False to end the run."""
        self.report.caught_up = True
        self.metrics.journal_lag.labels(self.name).set(0)
        self.sink.present = None  # from here on, only new events: nothing to compare with
        if not start.follow:
            return False
        wait = min(self.max_retry_after_s, page.retry_after_s or self.backoff.initial_s)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.stop.wait()
        return True

    async def _publish(self, page: JournalPage) -> str | None:
        outcomes: list[Outcome] = []
        refused = 0
        at = format_time(datetime.now().astimezone())
        for _, event in page.entries:
            try:
                outcome = journal_outcome(event, self.principal, self.limits, at)
            except IngestError as exc:  # the event is not this registration's to deliver
                refused += 1
                log.warning("journal %s refused an event: %s", self.name, exc.code)
                continue
            outcomes.append(outcome)
            times = [e.time for e in outcome.envelopes()]
            if times and (self._newest is None or max(times) > self._newest):
                self._newest = max(times)
        position = page.entries[-1][0] if page.entries else None
        cursor = None
        if position is not None:
            value = {"position": position, "time": self._newest}
            cursor = self.cursors.record(cursor_key(self.name), value)
        tally = await self.sink.publish(outcomes, cursor, refused)
        self._count(tally)
        self.report.pages += 1
        self.report.position = position or self.report.position
        return page.next_url

    def _count(self, tally: Tally) -> None:
        self.report.tally.add(tally)
        for outcome in ("published", "deadlettered", "present", "refused"):
            self.metrics.journal_events.labels(self.name, outcome).inc(getattr(tally, outcome))
        if self._newest is not None:
            newest = datetime.fromisoformat(self._newest.replace("Z", "+00:00")).timestamp()
            self.metrics.journal_cursor_time.labels(self.name).set(newest)
            self.metrics.journal_lag.labels(self.name).set(max(0.0, time.time() - newest))
