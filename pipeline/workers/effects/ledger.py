"""The keys of delivered effects that a second call would repeat (campaign requests).

Marketo's list, program-status and field calls are idempotent by nature: delivering them again
after a crash changes nothing. A campaign request is not: it runs the campaign again. Once one
succeeds its key is written to the compacted ``<prefix>.effects-ledger`` (before the commit), and
a partition that arrives reads the ledger's recent past, so a record handled again after a crash
skips the requests already made. What stays open is a crash between Marketo's answer and the
ledger write: those milliseconds can repeat a request.
"""

import time
from collections.abc import Callable

import orjson

from pipeline.consume.handler import Reader
from pipeline.topics import OutboundRecord
from pipeline.workers.effects.effect import Effect
from pipeline.workers.history import read_since

LOOKBACK_S = 25 * 3600.0  # as long as the consume loop's id memory: redeliveries come sooner
MEMORY = 200_000


class Ledger:
    def __init__(self, topic: str, clock: Callable[[], float] = time.time) -> None:
        self.topic = topic
        self._clock = clock
        self._done: dict[str, None] = {}  # insertion-ordered: the oldest is forgotten first

    def __contains__(self, key: str) -> bool:
        return key in self._done

    def add(self, key: str) -> None:
        self._done[key] = None
        if len(self._done) > MEMORY:
            del self._done[next(iter(self._done))]

    def record(self, effect: Effect) -> OutboundRecord:
        value = orjson.dumps({"sink": effect.sink, "munchkinId": effect.munchkin})
        now_ms = int(self._clock() * 1000)
        return OutboundRecord(self.topic, effect.key.encode(), value, (), now_ms, 0)

    async def restore(self, reader: Reader) -> int:
        """Remember the keys delivered in the last ``LOOKBACK_S``; how many."""
        since_ms = int((self._clock() - LOOKBACK_S) * 1000)
        found = 0
        async for records in read_since(reader, self.topic, since_ms):
            for r in records:
                if r.key:
                    self.add(r.key.decode("utf-8", "replace"))
                    found += 1
        return found
