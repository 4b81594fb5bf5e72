"""The per-partition id memory: window, capacity, late records."""

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import HOURS as HOUR_S
from pipeline.dedup import DEFAULT_WINDOW_S, DedupMemory


def test_remembers_ids_within_the_window() -> None:
    memory = DedupMemory()
    assert memory.add("a", 1000.0)
    assert "a" in memory
    assert not memory.add("a", 2000.0)  # already remembered
    assert "b" not in memory
    assert DEFAULT_WINDOW_S >= 24 * HOUR_S  # Adobe's retry horizon


def test_forgets_whole_buckets_older_than_the_window() -> None:
    memory = DedupMemory(window_s=2 * HOUR_S)
    memory.add("old", 0.0)
    memory.add("mid", 1.5 * HOUR_S)
    memory.add("new", 2.5 * HOUR_S)
    assert "old" in memory  # 2.5 h later, but its bucket still touches the window
    memory.add("newer", 3.5 * HOUR_S)
    assert "old" not in memory
    assert "mid" in memory
    assert "new" in memory
    assert "newer" in memory


def test_a_late_record_is_kept_at_least_as_long_as_the_newest() -> None:
    memory = DedupMemory(window_s=HOUR_S)
    memory.add("new", 10 * HOUR_S)
    memory.add("late", 1 * HOUR_S)  # arrives late: joins the newest bucket
    memory.add("next", 10.5 * HOUR_S)
    assert "late" in memory


def test_capacity_bounds_memory_by_dropping_the_oldest_ids_first() -> None:
    memory = DedupMemory(capacity=160)
    for i in range(1000):
        memory.add(f"id-{i}", 100.0)
    assert len(memory) <= 160
    assert memory.evicted_early >= 1000 - 160
    assert "id-999" in memory
    assert "id-0" not in memory
    assert memory.covered_s >= HOUR_S


@given(st.lists(st.tuples(st.integers(0, 30), st.floats(0, 50 * HOUR_S)), max_size=200))
def test_never_claims_an_unseen_id_and_never_exceeds_capacity(
    adds: list[tuple[int, float]],
) -> None:
    memory = DedupMemory(window_s=3 * HOUR_S, capacity=20)
    added = set()
    for n, at in adds:
        memory.add(str(n), at)
        added.add(str(n))
        assert len(memory) <= 20
    for n in range(31):
        if str(n) in memory:
            assert str(n) in added


def test_the_remembered_ids_are_nothing_the_cyclic_collector_walks() -> None:
    # A list per bucket would be walked item by item in every full collection (see the module).
    import gc

    memory = DedupMemory(window_s=3 * 3600, capacity=1000)
    for n in range(500):
        memory.add(f"id-{n}", n * 60.0)
    gc.collect()
    assert not gc.is_tracked(memory._ids)
    # an array's items are no objects: the collector has nothing in it to visit
    assert all(len(gc.get_referents(hashes)) <= 1 for _, hashes in memory._buckets)
    assert "id-450" in memory
    assert "id-500" not in memory


class Reference(DedupMemory):
    """``add`` as it was before its newest bucket was kept apart: read from the deque each time."""

    __slots__ = ()

    def add(self, event_id: str, at_s: float) -> bool:
        h = hash(event_id)
        ids = self._ids
        if h in ids:
            return False
        buckets = self._buckets
        if buckets:
            newest, hashes = buckets[-1]
            if at_s < (newest + 1) * self._bucket_s and len(hashes) < self._bucket_limit:
                hashes.append(h)
                ids[h] = newest
                if len(ids) > self._capacity:
                    self.evicted_early += self._drop_oldest()
                return True
        number = int(at_s // self._bucket_s)
        if buckets:
            number = max(number, buckets[-1][0])
        buckets.append((number, array("q", (h,))))
        ids[h] = number
        self._expire()
        if len(ids) > self._capacity:
            self.evicted_early += self._drop_oldest()
        return True


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 60),
            # bucket ends exactly, too
            st.one_of(st.integers(0, 60).map(lambda k: k * 600.0), st.floats(0, 30 * HOUR_S)),
        ),
        min_size=10,
        max_size=300,
    ),
    st.sampled_from(  # (window, capacity, bucket): buckets of 1, 20, 3 and 100 ids
        [
            (3 * HOUR_S, 20, HOUR_S),
            (3 * HOUR_S, 320, HOUR_S),
            (HOUR_S, 48, 600.0),
            (50 * HOUR_S, 1600, HOUR_S),
        ]
    ),
)
def test_add_decides_as_the_reference_does(
    adds: list[tuple[int, float]], shape: tuple[float, int, float]
) -> None:
    memory, reference = DedupMemory(*shape), Reference(*shape)
    for n, at in adds:
        assert memory.add(str(n), at) == reference.add(str(n), at)
        assert (len(memory), memory.evicted_early, memory.covered_s) == (
            len(reference),
            reference.evicted_early,
            reference.covered_s,
        )
    assert [(b, list(h)) for b, h in memory._buckets] == [
        (b, list(h)) for b, h in reference._buckets
    ]
