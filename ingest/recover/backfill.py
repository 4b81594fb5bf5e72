"""One Marketo instance's activities over a time range, read back through its REST API and
published as the direct push would have published them (``ingest.intake.rest_outcome``).

The plan: for a range up to ``recovery.bulk_after_days``, one paging run per group of at most 10
activity type ids (Marketo scans 300 activities of every type per page, so each group costs the
same pages) plus one run over the deleted leads; for a longer range, Bulk Extract jobs of at
most 31 days each. Every part keeps its own cursor (``marketo:<munchkin>:<since>:<until>:<part>``
on the cursor topic): the next page token, or the export id, and whether it is done; run again
with the same range, a backfill resumes where its cursor is, with no gap and nothing twice.

Calls go through the instance's ``Limiter`` (its share of the rate, the concurrency and the
daily quota): when the share is spent the run stops with its cursors kept (``QuotaExhausted``),
to be run again after 00:00 US Central.
"""

import asyncio
import csv
import io
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ingest.gate import Principal
from ingest.intake import rest_outcome
from ingest.recover.cursor import Cursor, Cursors
from ingest.recover.metrics import RecoveryMetrics
from ingest.recover.progress import Figures, Progress
from ingest.recover.retry import Backoff, retrying
from ingest.recover.sink import Sink, Tally
from ingest.streams.rest_activity import ActivityCatalog, bulk_record
from pipeline.envelope import format_time
from pipeline.marketo.client import MAX_TYPE_IDS, ActivityPage, MarketoClient
from pipeline.marketo.errors import MarketoError, QuotaExhausted

log = logging.getLogger(__name__)
T = TypeVar("T")

DELETE_LEAD = 37  # Marketo serves these from deletedleads.json only
MAX_EXPORT = timedelta(days=31)
PAGE = 300  # activities Marketo scans per page


@dataclass(frozen=True)
class Part:
    name: str  # "types:1,2,…", "deleted" or "bulk:<start>"
    type_ids: tuple[int, ...] = ()
    start: datetime | None = None  # bulk only
    end: datetime | None = None


def plan(
    type_ids: tuple[int, ...], since: datetime, until: datetime, bulk_after: timedelta
) -> list[Part]:
    ids = tuple(sorted(set(type_ids) - {DELETE_LEAD}))
    if until - since > bulk_after:
        parts, start = [], since
        while start < until:
            end = min(until, start + MAX_EXPORT)
            parts.append(Part(f"bulk:{format_time(start)}", tuple(sorted(type_ids)), start, end))
            start = end
        return parts
    groups = [ids[i : i + MAX_TYPE_IDS] for i in range(0, len(ids), MAX_TYPE_IDS)]
    return [Part("types:" + ",".join(map(str, g)), g) for g in groups] + [Part("deleted")]


def estimated_calls(parts: list[Part], activities: int) -> int:
    """Calls the plan costs if the range holds ``activities`` of every type: each paging run
    pages through all of them, whatever types it asks for."""
    pages = -(-activities // PAGE) or 1
    calls = 1  # the instance's activity types
    for part in parts:
        calls += 5 if part.start is not None else 1 + pages  # create, enqueue, status, file
    return calls


async def catalog_of(client: MarketoClient, backoff: Backoff) -> ActivityCatalog:
    """The instance's own activity types, retried like every other call."""
    types = await retrying(client.activity_types, backoff, f"Marketo {client.instance.munchkin_id}")
    return ActivityCatalog.from_types(types)


@dataclass
class BackfillReport:
    pages: int = 0
    calls: int = 0
    parts_done: int = 0
    quota_exhausted: bool = False
    tally: Tally = field(default_factory=Tally)

    def line(self, munchkin: str) -> str:
        t = self.tally
        end = (
            "stopped: quota spent, run again after 00:00 US Central"
            if self.quota_exhausted
            else ("done")
        )
        return (
            f"backfill {munchkin}: {self.pages} pages, {self.calls} API calls, published "
            f"{t.published}, already present {t.present}, dead-lettered {t.deadlettered}; {end}"
        )


@dataclass
class Backfill:
    client: MarketoClient
    principal: Principal
    sink: Sink
    cursors: Cursors
    metrics: RecoveryMetrics
    backoff: Backoff
    progress: Progress
    since: datetime
    until: datetime | None
    bulk_poll_s: float = 30.0
    report: BackfillReport = field(default_factory=BackfillReport)
    catalog: ActivityCatalog = field(default_factory=ActivityCatalog)
    _calls_at_start: int = 0
    _part_fraction: float = 0.0
    _figures: Figures = field(default_factory=Figures)

    @property
    def munchkin(self) -> str:
        return self.client.instance.munchkin_id

    def key(self, part: Part) -> str:
        until = format_time(self.until) if self.until else "open"
        return f"marketo:{self.munchkin}:{format_time(self.since)}:{until}:{part.name}"

    async def run(self, parts: list[Part], stored: dict[str, Cursor]) -> BackfillReport:
        self._calls_at_start = self.client.limiter.calls_today
        try:
            for index, part in enumerate(parts):
                cursor = stored.get(self.key(part), {})
                if not cursor.get("done"):
                    self._part_fraction = 0.0
                    await self._part(part, cursor, index, len(parts))
                self.report.parts_done += 1
        except QuotaExhausted as exc:
            self.report.quota_exhausted = True
            log.error("backfill %s: %s; the cursors are kept", self.munchkin, exc)
        finally:
            self._show(1.0 if self.report.parts_done == len(parts) else self._figures.fraction)
            self.progress.close()
        return self.report

    async def _part(self, part: Part, cursor: Cursor, index: int, total: int) -> None:
        if part.start is not None:
            await self._bulk(part, cursor)
            return
        stored = cursor.get("token")
        token = stored if isinstance(stored, str) else await self._call(self._paging_token)
        while True:
            page = await self._page(part, token)
            records = [r for r in page.records if self._before_until(r)]
            ended = len(records) < len(page.records) or not page.more
            await self._publish(records, part, {"token": page.next_token, "done": ended})
            token = page.next_token
            self._show((index + (1.0 if ended else self._covered(records))) / total)
            if ended:
                return

    async def _paging_token(self) -> str:
        return await self.client.paging_token(self.since)

    async def _page(self, part: Part, token: str) -> ActivityPage:
        if part.name == "deleted":
            return await self._call(lambda: self.client.deleted_leads(token))
        return await self._call(lambda: self.client.activities(token, part.type_ids))

    async def _bulk(self, part: Part, cursor: Cursor) -> None:
        start, end = part.start, part.end
        assert start is not None  # plan() gives a bulk part both
        assert end is not None
        export: str = cursor.get("export") or ""
        if not export:
            export = await self._call(lambda: self.client.create_export(start, end, part.type_ids))
            await self._call(lambda: self.client.enqueue_export(export))
            await self.sink.publish([], self.cursors.record(self.key(part), {"export": export}))
        while (status := await self._call(lambda: self.client.export_status(export))) != (
            "Completed"
        ):
            if status in ("Failed", "Cancelled"):
                raise MarketoError(f"bulk export {export} ended {status}")
            await asyncio.sleep(self.bulk_poll_s)
        text = await self._call(lambda: self.client.export_file(export))
        records = [bulk_record(row) for row in csv.DictReader(io.StringIO(text))]
        await self._publish(records, part, {"export": export, "done": True})

    async def _publish(self, records: Sequence[object], part: Part, cursor: Cursor) -> None:
        at = format_time(datetime.now(UTC))
        outcome = rest_outcome(list(records), self.principal, self.catalog, at)
        tally = await self.sink.publish([outcome], self.cursors.record(self.key(part), cursor))
        self.report.tally.add(tally)
        self.report.pages += 1
        self.metrics.backfill_pages.labels(self.munchkin).inc()
        for name in ("published", "deadlettered", "present"):
            self.metrics.backfill_events.labels(self.munchkin, name).inc(getattr(tally, name))

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        before = self.client.limiter.calls_today
        try:
            return await retrying(call, self.backoff, f"Marketo {self.munchkin}")
        finally:
            self.metrics.api_calls.labels(self.munchkin).inc(
                max(0, self.client.limiter.calls_today - before)
            )

    def _before_until(self, record: object) -> bool:
        if self.until is None or not isinstance(record, dict):
            return True
        return str(record.get("activityDate", "")) < format_time(self.until, "seconds")

    def _covered(self, records: list[object]) -> float:
        end = self.until or datetime.now(UTC)
        dates = [r.get("activityDate") for r in records if isinstance(r, dict)]
        latest = max((d for d in dates if isinstance(d, str)), default=None)
        if latest is None:
            return self._part_fraction
        moment = datetime.fromisoformat(latest.replace("Z", "+00:00"))
        span = (end - self.since).total_seconds() or 1.0
        self._part_fraction = min(1.0, max(0.0, (moment - self.since).total_seconds() / span))
        return self._part_fraction

    def _show(self, fraction: float) -> None:
        limiter = self.client.limiter
        self.report.calls = limiter.calls_today - self._calls_at_start
        quota = limiter.calls_today / limiter.daily_calls
        self._figures = Figures(
            fraction, self.report.pages, self.report.tally.published, self.report.calls, quota
        )
        self.metrics.backfill_progress.labels(self.munchkin).set(fraction)
        self.metrics.quota_used.labels(self.munchkin).set(quota)
        self.progress.show(self._figures)
