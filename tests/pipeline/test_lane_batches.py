"""A lane without a broker: records of one call that fill a batch go on in the next, and the
call gets the futures of every batch that holds its records."""

import asyncio
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder

from pipeline.lanes import PartitionLane
from pipeline.topics import OutboundRecord


class Producer:
    """What a lane uses of aiokafka's producer: small batches, never sent."""

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(4096, 0)

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> Any:
        await asyncio.Event().wait()


def record(n: int, size: int = 500) -> OutboundRecord:
    return OutboundRecord("t", f"k{n}".encode(), b"v" * size, (("n", str(n).encode()),), 0)


async def test_a_call_spanning_batches_waits_for_each() -> None:
    lane = PartitionLane(Producer(), "t", 0)
    try:
        futures = lane.extend([record(n) for n in range(20)])  # ~10 KB: three 4 KiB batches
        sealed = [future for _, future in lane._sealed] + [lane._open_future]
        assert futures == set(sealed)
        assert len(futures) == 3
        held = sum(batch.record_count() for batch, _ in lane._sealed) + lane._open.record_count()
        assert held == 20
        # a record larger than a batch gets a batch of its own, as in aiokafka
        (alone,) = lane.extend([record(99, size=8192)])
        assert alone is lane._open_future
        assert lane._open.record_count() == 1
    finally:
        await lane.close()
