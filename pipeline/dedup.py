"""A bounded memory of the event ids one partition has handled recently.

Upstream re-sends (Adobe retries one event for up to 24 h), producer retries and rebalances can
put one event on a topic more than once. Every copy has the same envelope ``id`` and the same
partition key, so it lands in the same partition: a memory per partition is enough, and it moves
with the partition when the group rebalances (the consume loop rebuilds it by re-reading the
partition's ``ce_id`` headers, see ``pipeline/consume/rebalance.py``).

Ids are remembered by the record's Kafka timestamp (when the ingress published it), in buckets of
``bucket_s``; a whole bucket is forgotten once it is older than ``window_s`` than the newest
record. The memory also holds at most ``capacity`` ids: a bucket is closed when it holds
``capacity // BUCKETS_PER_CAPACITY`` ids, and when the memory is full the oldest bucket is dropped
early, which shortens the window (``covered_s`` and ``evicted_early``, a count of ids, tell how
much).

An id is kept as its 64-bit ``hash``: about 80 bytes per id in CPython. A bucket's hashes are an
``array`` rather than a list: the cyclic garbage collector has no items of an array to visit,
while a list of a million ints would be walked item by item in every full collection. Python
salts str hashes per process, which is fine because the memory never leaves the process. Two
different ids share a hash with probability about n / 2**64 (negligible for millions of ids);
such a pair would make the second event look like a duplicate.
"""

from array import array
from collections import deque

from pipeline.config import HOURS

# Adobe I/O Events retries one event for up to 24 h; one more hour covers queueing and clock skew.
DEFAULT_WINDOW_S = 25 * HOURS
DEFAULT_CAPACITY = 1_000_000
BUCKETS_PER_CAPACITY = 16


class DedupMemory:
    __slots__ = (
        "_bucket_limit",
        "_bucket_s",
        "_buckets",
        "_capacity",
        "_ids",
        "_newest",
        "_newest_end_s",
        "_newest_number",
        "_window_buckets",
        "evicted_early",
    )

    def __init__(
        self,
        window_s: float = DEFAULT_WINDOW_S,
        capacity: int = DEFAULT_CAPACITY,
        bucket_s: float = HOURS,
    ) -> None:
        if window_s <= 0 or capacity < 1 or bucket_s <= 0:
            raise ValueError("window_s, capacity and bucket_s must be positive")
        self._bucket_s = bucket_s
        self._window_buckets = int(-(-window_s // bucket_s))  # ceil
        self._capacity = capacity
        self._bucket_limit = max(1, capacity // BUCKETS_PER_CAPACITY)
        self._ids: dict[int, int] = {}  # id hash → number of the bucket holding it
        # (bucket number, hashes as signed 64-bit ints), oldest first
        self._buckets: deque[tuple[int, array[int]]] = deque()
        # The newest bucket, its number and where it ends, kept apart for ``add``'s common case
        # (one comparison instead of unpacking the deque's last item).
        self._newest: array[int] = array("q")
        self._newest_number = 0
        self._newest_end_s = float("-inf")
        self.evicted_early = 0

    def __contains__(self, event_id: str) -> bool:
        return hash(event_id) in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def covered_s(self) -> float:
        """How far back the memory reaches, from the newest bucket's end."""
        if not self._buckets:
            return 0.0
        return (self._buckets[-1][0] - self._buckets[0][0] + 1) * self._bucket_s

    def add(self, event_id: str, at_s: float) -> bool:
        """Remember ``event_id`` handled at ``at_s``; False if it was already remembered."""
        h = hash(event_id)
        ids = self._ids
        if h in ids:
            return False
        hashes = self._newest
        # the common case: the newest bucket has room and the time is not past its end
        if at_s < self._newest_end_s and len(hashes) < self._bucket_limit:
            hashes.append(h)
            ids[h] = self._newest_number
            if len(ids) > self._capacity:
                self.evicted_early += self._drop_oldest()
            return True
        buckets = self._buckets
        number = int(at_s // self._bucket_s)
        if buckets:
            number = max(number, buckets[-1][0])
        # A late record joins the newest bucket: it is remembered a little longer, never shorter.
        hashes = array("q", (h,))
        buckets.append((number, hashes))
        self._newest, self._newest_number = hashes, number
        self._newest_end_s = (number + 1) * self._bucket_s
        ids[h] = number
        self._expire()
        if len(ids) > self._capacity:
            self.evicted_early += self._drop_oldest()
        return True

    def _expire(self) -> None:
        oldest_kept = self._buckets[-1][0] - self._window_buckets
        while self._buckets and self._buckets[0][0] < oldest_kept:
            self._drop_oldest()

    def _drop_oldest(self) -> int:
        # never the newest: _expire keeps it, and a bucket never holds more than the capacity
        _, hashes = self._buckets.popleft()
        ids = self._ids
        for h in hashes:
            del ids[h]
        return len(hashes)
