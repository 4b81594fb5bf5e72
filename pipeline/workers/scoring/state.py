"""The scoring worker's state per input partition: each lead's features and score (``Leads``),
and the leads whose changes are not on the lead-scores topic yet (``Pending``)."""

from typing import NamedTuple

from pipeline.workers.scoring.models import Features


class LeadScore(NamedTuple):
    features: Features
    events: int
    through: int  # offset of the last activity applied (input partition of the same number)
    last_event_id: str
    emitted: float | None  # the score last emitted
    emitted_at_s: float  # event time of that emission
    above: frozenset[str] = frozenset()  # the thresholds (crossings.py) the lead is above


# LeadScore without the counts: (decayed, decayed_at_s, events, through, last_event_id, emitted,
# emitted_at_s). See Leads for why.
Held = tuple[float, float, int, int, str, float | None, float]


class Leads:
    """One input partition's leads, in the form the cyclic garbage collector can ignore.

    CPython's collector stops tracking an exact tuple whose items are atomic (numbers, strings,
    None), but never a NamedTuple, nor a tuple holding a dict. Held as ``LeadScore`` (two
    NamedTuples and a dict), every lead stayed tracked and each state update left a new
    long-lived object behind, so full collections ran every few thousand records and walked every
    lead: the largest cost of the scoring worker, growing with the number of leads. Here a lead is
    a plain tuple of atomic values plus its counts dict (of ints, untracked) in a second map.

    The counts dicts are this object's own: the scoring handler counts into them in place
    (``ScoringModel.step``), so ``put`` stores a copy and ``get`` hands one out.
    """

    __slots__ = ("counts", "held")

    def __init__(self) -> None:
        self.held: dict[str, Held] = {}
        self.counts: dict[str, dict[int, int]] = {}

    def __len__(self) -> int:
        return len(self.held)

    def get(self, key: str) -> LeadScore | None:
        found = self.held.get(key)
        if found is None:
            return None
        decayed, decayed_at_s, events, through, last_event_id, emitted, emitted_at_s = found
        features = Features(decayed, decayed_at_s, dict(self.counts[key]))
        return LeadScore(features, events, through, last_event_id, emitted, emitted_at_s)

    def put(self, key: str, state: LeadScore) -> None:
        f = state.features
        self.held[key] = (
            f.decayed,
            f.decayed_at_s,
            state.events,
            state.through,
            state.last_event_id,
            state.emitted,
            state.emitted_at_s,
        )
        self.counts[key] = dict(f.counts)

    def pop(self, key: str) -> None:
        self.held.pop(key, None)
        self.counts.pop(key, None)

    def all(self) -> dict[str, LeadScore]:
        return {k: s for k in self.held if (s := self.get(k)) is not None}

    def state(self, key: str) -> LeadScore:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found


class Pending:
    """Leads with changes not yet on the topic, oldest first: (offset, monotonic time) of the
    first unwritten change. A dict keeps insertion order, and records are handled in offset
    order, so the first entry holds the lowest offset and the earliest time."""

    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first: dict[str, tuple[int, float]] = {}

    def touch(self, key: str, offset: int, now: float) -> None:
        if key not in self.first:
            self.first[key] = (offset, now)

    def clear(self, key: str) -> None:
        self.first.pop(key, None)

    def lowest(self) -> int | None:
        for offset, _ in self.first.values():
            return offset
        return None

    def due(self, cutoff: float) -> list[str]:
        """Keys pending since before ``cutoff``."""
        keys = []
        for key, (_, since) in self.first.items():
            if since > cutoff:
                break
            keys.append(key)
        return keys
