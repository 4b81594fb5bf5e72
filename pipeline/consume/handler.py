"""What a worker plugs into the consume loop (``Handler``), and what it may read to restore its
state (``Reader``, which the loop's ``PartitionReader`` is)."""

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from pipeline.consume.record import Partition, Record


class Reader(Protocol):
    """Ranges of partitions read outside the consumer group, to rebuild state."""

    async def partitions(self, topic: str) -> list[Partition]: ...

    async def end_offsets(self, partitions: Collection[Partition]) -> dict[Partition, int]: ...

    async def offsets_since(
        self, partitions: Collection[Partition], since_ms: int
    ) -> dict[Partition, int]:
        """The first offset with a timestamp at or after ``since_ms`` (the end if none)."""
        ...

    def read(
        self, ranges: Mapping[Partition, tuple[int, int]], max_records: int = ...
    ) -> AsyncIterator[list[Record]]:
        """Records in ``[start, end)`` of each partition, in offset order per partition."""
        ...


class Handler(Protocol):
    """What a worker plugs into the loop. ``handle`` and ``replay`` are synchronous and fast;
    everything that waits on I/O happens in ``flush``, ``restore`` and ``release``."""

    @property
    def replay_horizon_s(self) -> float:
        """How far back ``replay`` needs records after an assignment (0: ids only)."""
        ...

    def handle(self, record: Record) -> None: ...

    def replay(self, record: Record) -> None: ...

    async def flush(self) -> None:
        """Make the outputs of the records handled so far durable (raise retriable errors)."""
        ...

    def pending_offset(self, partition: Partition) -> int | None:
        """The lowest offset whose effects are not durable yet (None: all are)."""
        ...

    async def restore(self, partitions: Sequence[Partition], reader: Reader) -> None: ...

    async def release(self, partitions: Sequence[Partition]) -> None:
        """Before the partitions go elsewhere: make all of their state durable."""
        ...

    def forget(self, partitions: Collection[Partition]) -> None: ...

    async def tick(self, now_s: float) -> None:
        """Periodic work not driven by records (e.g. silence detection); outputs flushed after."""
        ...


class RawPath(NamedTuple):
    """What the loop lends a ``RunHandler`` for one partition's run of records."""

    stream: str  # the partition's topic's stream
    # the loop's own way with one raw record: Record, id memory, ``handle``; False: a duplicate
    one: Callable[[Any], bool]
    # the dead letter of a raw record whose handling raised (as ``handle`` raising would make)
    failed: Callable[[Any, Exception], None]


class RunHandler(Handler, Protocol):
    """A handler that may also take a partition's run of raw aiokafka records at once
    (``handle_run``; the loop uses it when a handler has one), to skip building a ``Record`` for
    the records it recognizes. It must have exactly the effects of the loop's own way, record by
    record: ids remembered with ``remember(event_id, timestamp_ms / 1000)`` (a duplicate is
    skipped), then ``handle``; ``path.one`` does all of it for a record, ``path.failed`` turns an
    exception into the dead letter ``handle`` raising it would have made."""

    def handle_run(
        self,
        part: Partition,
        raws: Sequence[Any],
        remember: Callable[[str, float], bool],
        path: RawPath,
    ) -> int:
        """Handle the run; the number of duplicates skipped."""
        ...
