"""What a worker plugs into the consume loop (``Handler``), and what it may read to restore its
state (``Reader``, which the loop's ``PartitionReader`` is)."""

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Protocol

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
