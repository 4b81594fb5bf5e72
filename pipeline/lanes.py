"""One batching lane per topic-partition, shared by every concurrent delivery.

aiokafka's batch path (``create_batch``/``send_batch``) keeps at most one batch per partition
queued, and ``send_batch`` waits for that slot. Had each delivery built batches of its own, 64
concurrent deliveries would queue 64 small batches per partition behind each other, one per
produce request, and aiokafka's slot wait miscounts its timeout when many wait at once (it
raises ``KafkaTimeoutError`` long before the request timeout). A lane instead keeps one *open*
batch per partition that every delivery appends to without waiting; one task per lane hands
the batch to aiokafka as soon as the previous one has gone out, so the next batch fills while
the previous one is in flight, the way ceiling B of ``make bench`` does.

A delivery awaits the futures of the batches that hold its records; a failed batch fails every
delivery with a record in it (each is answered 503 and re-sent upstream: at least once).
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from pipeline.topics import OutboundRecord

log = logging.getLogger(__name__)


class RecordTooLarge(ValueError):
    pass


class PartitionLane:
    def __init__(self, producer: AIOKafkaProducer, topic: str, partition: int) -> None:
        self._producer = producer
        self._topic = topic
        self._partition = partition
        self._open: Any = None  # aiokafka BatchBuilder being filled
        self._open_future: asyncio.Future[None] | None = None
        self._sealed: deque[tuple[Any, asyncio.Future[None]]] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task = asyncio.create_task(self._run(), name=f"lane-{topic}-{partition}")

    def append(self, record: OutboundRecord) -> asyncio.Future[None]:
        """Add the record to the open batch; the future resolves when Kafka acknowledged it."""
        (future,) = self.extend([record])
        return future

    def extend(self, records: Sequence[OutboundRecord]) -> set[asyncio.Future[None]]:
        """Add the records, in order, to the open batch (and the next ones when it fills); the
        futures of the batches that hold them. One call per delivery and partition: the lane's
        bookkeeping (its events, the batch's future) is done once, not per record."""
        futures = set()
        if self._open is None:
            self._start_batch()
        append = self._open.append
        placed = False  # a record of this call is in the open batch
        for record in records:
            headers = list(record.headers)
            key, value, timestamp = record.key, record.value, record.timestamp_ms
            if append(key=key, value=value, timestamp=timestamp, headers=headers) is None:
                if placed:
                    assert self._open_future is not None
                    futures.add(self._open_future)
                append = self._next_batch(record, headers)
            placed = True
        if placed:
            assert self._open_future is not None
            futures.add(self._open_future)
            self._idle.clear()
            self._wakeup.set()
        return futures

    def _next_batch(self, record: OutboundRecord, headers: list[tuple[str, bytes]]) -> Any:
        """Seal the full batch, open the next with ``record`` in it; the new batch's append."""
        self._seal()
        self._start_batch()
        assert self._open is not None
        append = self._open.append
        metadata = append(
            key=record.key, value=record.value, timestamp=record.timestamp_ms, headers=headers
        )
        if metadata is None:
            raise RecordTooLarge(f"a record of {len(record.value)} bytes fits no batch")
        return append

    async def flush(self) -> None:
        """Wait until every appended record has been handed to aiokafka."""
        await self._idle.wait()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        error = ConnectionError("the publisher stopped before the batch was sent")
        for _, future in self._take_all():
            if not future.done():
                future.set_exception(error)

    def _start_batch(self) -> None:
        self._open = self._producer.create_batch()
        self._open_future = asyncio.get_running_loop().create_future()
        # a delivery that timed out no longer awaits it: don't warn about an unread failure
        self._open_future.add_done_callback(_read_outcome)

    def _seal(self) -> None:
        assert self._open_future is not None
        self._sealed.append((self._open, self._open_future))
        self._open, self._open_future = None, None

    def _take_all(self) -> list[tuple[Any, asyncio.Future[None]]]:
        if self._open is not None:
            self._seal()
        taken = list(self._sealed)
        self._sealed.clear()
        return taken

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._sealed or self._open is not None:
                if not self._sealed:
                    self._seal()
                batch, future = self._sealed.popleft()
                await self._send(batch, future)
            self._idle.set()

    async def _send(self, batch: Any, future: asyncio.Future[None]) -> None:
        try:
            # waits while aiokafka still holds the previous batch of this partition; records
            # appended meanwhile go into the next open batch
            delivered = await self._producer.send_batch(
                batch, self._topic, partition=self._partition
            )
        except asyncio.CancelledError:
            future.set_exception(ConnectionError("the publisher stopped"))
            raise
        except Exception as exc:  # every delivery in the batch learns it failed
            future.set_exception(exc)
            return
        delivered.add_done_callback(lambda d: _settle(future, d))


def _read_outcome(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _settle(future: asyncio.Future[None], delivered: asyncio.Future[Any]) -> None:
    if future.done():
        return
    if delivered.cancelled():
        future.set_exception(ConnectionError("the batch was cancelled"))
    elif (exc := delivered.exception()) is not None:
        future.set_exception(exc)
    else:
        future.set_result(None)
