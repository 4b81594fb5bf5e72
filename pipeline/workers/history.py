"""The recent past of a topic, read outside the consumer group when partitions arrive: the
alerts fired lately (alerting), the effects delivered lately (the effects ledger)."""

from collections.abc import AsyncIterator

from pipeline.consume.handler import Reader
from pipeline.consume.record import Record


async def read_since(reader: Reader, topic: str, since_ms: int) -> AsyncIterator[list[Record]]:
    """Every partition of ``topic`` from its first record at or after ``since_ms`` to its end
    now, in batches, in offset order per partition."""
    partitions = await reader.partitions(topic)
    starts = await reader.offsets_since(partitions, since_ms)
    ends = await reader.end_offsets(partitions)
    async for records in reader.read({p: (starts[p], ends[p]) for p in partitions}):
        yield records
