"""Where events are missing: per tenant and stream, the periods longer than a threshold with no
event on the topics, each with the command that recovers it.

Event times are the envelopes' ``ce_time`` headers (when the event happened, not when it was
published); the tenant is the record key's first segment and the stream its topic. The window's
edges count: silence from ``since`` to the first event, and from the last event to ``until``.

A gap is recoverable from the journal while it is younger than the journal keeps (7 days) and
the tenant has a ``[[journal]]`` registration; a Lead Activity gap from the REST API of a
``[[marketo]]`` instance at any age. Gaps of a quiet tenant are gaps too: only the upstream can
say whether anything happened then, which is what the commands ask it.
"""

import contextlib
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.structs import ConsumerRecord

from ingest.errors import UnusableInput
from ingest.recover.durations import as_seek
from ingest.recover.scan import header, scan
from ingest.streams.common import parse_time
from pipeline.envelope import Stream, format_time
from pipeline.settings import KafkaSettings
from pipeline.topics import Topics, stream_of_topic

JOURNAL_KEEPS = timedelta(days=7)
SEEK_MARGIN = timedelta(minutes=5)  # the journal seeks by arrival; start a little before


@dataclass(frozen=True)
class Gap:
    tenant: str
    stream: str
    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def find_gaps(
    times: Mapping[tuple[str, str], Sequence[float]],
    since: datetime,
    until: datetime,
    threshold: timedelta,
) -> list[Gap]:
    gaps = []
    low, high = since.timestamp(), until.timestamp()
    for (tenant, stream), found in sorted(times.items()):
        edges = [low, *sorted(t for t in found if low <= t <= high), high]
        for before, after in itertools.pairwise(edges):
            if after - before > threshold.total_seconds():
                start, end = (datetime.fromtimestamp(t, UTC) for t in (before, after))
                gaps.append(Gap(tenant, stream, start, end))
    return gaps


def commands(
    gap: Gap, registrations: Mapping[str, str], instances: Iterable[str], now: datetime
) -> list[str]:
    """The commands that recover ``gap``; ``registrations`` maps tenants to their journal."""
    found = []
    name = registrations.get(gap.tenant)
    if name is not None and now - gap.start < JOURNAL_KEEPS:
        seek = as_seek(now - gap.start + SEEK_MARGIN)
        found.append(f"datastreams journal --registration {name} --seek={seek}")
    if gap.stream == Stream.LEAD_ACTIVITY.value and gap.tenant in set(instances):
        found.append(
            f"datastreams backfill marketo --tenant {gap.tenant} "
            f"--since {format_time(gap.start, 'seconds')} --until {format_time(gap.end, 'seconds')}"
        )
    return found


async def event_times(
    kafka: KafkaSettings, topics: Topics, tenants: Iterable[str], since: datetime
) -> dict[tuple[str, str], list[float]]:
    """Every configured tenant and stream (empty when silent throughout) with the event times
    of its records published since ``since``."""
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    streams = [s.value for s in Stream]
    for tenant in tenants:
        for stream in streams:
            times[(tenant, stream)] = []

    def visit(record: ConsumerRecord[Any, Any]) -> None:
        tenant = bytes(record.key or b"").decode("utf-8", "replace").partition(":")[0]
        stream = stream_of_topic(record.topic)
        moment = header(record, "ce_time")
        if stream and moment and (tenant, stream) in times:
            # the envelope's own time was validated; a record written by something else is skipped
            with contextlib.suppress(UnusableInput):
                times[(tenant, stream)].append(parse_time(moment, "ce_time").timestamp())

    names = [topics.for_stream(Stream(s)).name for s in streams]
    await scan(kafka, names, int(since.timestamp() * 1000), visit)
    return dict(times)
