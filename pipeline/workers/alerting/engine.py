"""Evaluating alert rules: pure state machines, fed events in order, returning ``Alert`` values.

``RuleEngine`` holds the state of every rule for one input partition (windows, ``after``
markers, cooldowns). Its decisions depend only on the events and their event times, never on the
wall clock, so replaying a partition rebuilds the same state and the same alert ids. Every map is
bounded (``max_keys`` per rule, least recently touched key evicted) and swept by event time.

Event time is kept per tenant: tenants share partitions, and one tenant's events can arrive hours
behind another's (a backlog Adobe retries for 24 h). Each state entry belongs to its tenant and
is swept by that tenant's watermark (the newest event time seen from it in this partition), and
only once it is ``lateness_s`` past use, so that a late event of the tenant still finds what a
replay of the same records would hold: sweeping never changes a decision for events up to
``lateness_s`` behind their tenant's newest.

``SilenceWatch`` is the one rule kind driven by the clock: the last record time per tenant and
partition, checked on every tick.

Alert ids are ``sha256(rule | key | last evidence id)``: the same trigger gives the same id on
any replica and after any replay, which is how re-fired alerts are recognised and suppressed.
"""

import bisect
import hashlib
from collections import OrderedDict
from collections.abc import Collection, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pipeline.workers.alerting.rules import Doc, Rule, RuleSet, Severity, getter

DEFAULT_MAX_KEYS = 100_000
MAX_EVIDENCE = 20

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    rule: str
    severity: Severity
    key: str
    munchkinid: str
    summary: str
    evidence: tuple[str, ...]
    count: int
    first_seen_s: float
    last_seen_s: float
    lead_id: str | None = None
    add_to_list: str | None = None


def alert_id(rule: str, key: str, trigger: str) -> str:
    return "alert-" + hashlib.sha256(f"{rule}|{key}|{trigger}".encode()).hexdigest()[:32]


class Bounded(Generic[K, V]):
    """A map of at most ``limit`` entries; setting a key makes it the most recent."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def set(self, key: K, value: V) -> None:
        items = self._items
        if key in items:
            items.move_to_end(key)
        items[key] = value
        if len(items) > self._limit:
            items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def items(self) -> Iterator[tuple[K, V]]:
        return iter(list(self._items.items()))

    def __len__(self) -> int:
        return len(self._items)


# A rule's state is keyed by (tenant, alert key): the tenant picks the watermark that sweeps it.
StateKey = tuple[str, str]


class _RuleState:
    def __init__(self, max_keys: int) -> None:
        self.windows: Bounded[StateKey, list[tuple[float, str]]] = Bounded(max_keys)
        self.markers: Bounded[StateKey, tuple[float, str]] = Bounded(max_keys)
        self.fired: Bounded[StateKey, float] = Bounded(max_keys)


class RuleEngine:
    """Every event rule's state for one input partition."""

    def __init__(
        self, rules: RuleSet, max_keys: int = DEFAULT_MAX_KEYS, lateness_s: float = 0.0
    ) -> None:
        self._rules = tuple(r for r in rules.rules if r.silence is None)
        self._state = {r.id: _RuleState(max_keys) for r in self._rules}
        # (stream, event type) → (candidate rules, followers only)
        self._routes: dict[tuple[str, str], tuple[tuple[Rule, ...], bool]] = {}
        self._lateness_s = lateness_s
        self.watermarks: dict[str, float] = {}  # tenant → newest event time seen from it

    def route(self, stream: str, event_type: str) -> tuple[tuple[Rule, ...], bool]:
        """``candidates`` and ``followers_only`` of an event, in one lookup (cached)."""
        found = self._routes.get((stream, event_type))
        if found is None:
            rules = tuple(
                r
                for r in self._rules
                if r.selector.accepts(stream, event_type)
                or (r.after is not None and r.after.selector.accepts(stream, event_type))
            )
            followers = bool(rules) and all(_follower(r, stream, event_type) for r in rules)
            found = self._routes[(stream, event_type)] = (rules, followers)
        return found

    def candidates(self, stream: str, event_type: str) -> tuple[Rule, ...]:
        """Rules that may care about an event, from its headers alone."""
        return self.route(stream, event_type)[0]

    def followers_only(self, stream: str, event_type: str) -> bool:
        """Whether every candidate rule of this stream and type sees such an event only as the
        second step of a sequence keyed by header fields (see ``awaited``)."""
        return self.route(stream, event_type)[1]

    def awaited(self, rules: tuple[Rule, ...], head: Doc) -> bool:
        """For ``followers_only`` events: whether a first step is waiting under the event's key
        (``head``: its header fields, ``HEADER_FIELDS``). When none is, the event can change no
        state and fire nothing, so it needs no JSON decoding (most emails sent and delivered);
        the watermark then moves with the next decoded event."""
        tenant = head["munchkinid"]
        for rule in rules:
            if rule.tenants and tenant not in rule.tenants:
                continue
            # rule.key_of(head), faster: every field of the key is a header field (a str)
            key = (tenant, ":".join([head[path] for path in rule.key]))
            if self._state[rule.id].markers.get(key) is not None:
                return True
        return False

    def observe(self, doc: Doc, at_s: float, rules: tuple[Rule, ...]) -> list[Alert]:
        """Feed one event (event time ``at_s``) to ``rules`` (its candidates); alerts it fires."""
        tenant = doc["munchkinid"]
        if at_s > self.watermarks.get(tenant, 0.0):
            self.watermarks[tenant] = at_s
        fired = []
        for rule in rules:
            if rule.tenants and tenant not in rule.tenants:
                continue
            alert = self._observe(rule, self._state[rule.id], doc, at_s)
            if alert is not None:
                fired.append(alert)
        return fired

    def _observe(self, rule: Rule, state: _RuleState, doc: Doc, at_s: float) -> Alert | None:
        key: str | None = None
        tenant = doc["munchkinid"]
        if rule.after is not None and rule.after.selector.matches(doc):
            key = rule.key_of(doc)
            state.markers.set((tenant, key), (at_s, doc["id"]))
        if not rule.selector.matches(doc):
            return None
        if key is None:
            key = rule.key_of(doc)
        held = (tenant, key)
        if rule.threshold is not None:
            found = self._window(rule, state, held, doc["id"], at_s)
        elif rule.after is not None:
            found = self._sequence(rule, state, held, doc["id"], at_s)
        else:
            found = ((doc["id"],), at_s, at_s, 1)
        if found is None:
            return None
        evidence, first_s, last_s, count = found
        last_fired = state.fired.get(held)
        if last_fired is not None and abs(last_s - last_fired) < rule.cooldown_s:
            return None
        state.fired.set(held, last_s)
        return Alert(
            id=alert_id(rule.id, key, evidence[-1]),
            rule=rule.id,
            severity=rule.severity,
            key=key,
            munchkinid=doc["munchkinid"],
            summary=rule.render(lambda path: _lookup(doc, path, count)),
            evidence=evidence[-MAX_EVIDENCE:],
            count=count,
            first_seen_s=first_s,
            last_seen_s=last_s,
            lead_id=doc["subject"] if doc["stream"] == "lead-activity" else None,
            add_to_list=rule.add_to_list,
        )

    @staticmethod
    def _window(
        rule: Rule, state: _RuleState, key: StateKey, event_id: str, at_s: float
    ) -> tuple[tuple[str, ...], float, float, int] | None:
        assert rule.threshold is not None
        window = state.windows.get(key) or []
        bisect.insort(window, (at_s, event_id))
        cut = window[-1][0] - rule.threshold.window_s
        window = [entry for entry in window if entry[0] >= cut][-rule.threshold.count :]
        state.windows.set(key, window)
        if len(window) < rule.threshold.count:
            return None
        return tuple(e for _, e in window), window[0][0], window[-1][0], len(window)

    @staticmethod
    def _sequence(
        rule: Rule, state: _RuleState, key: StateKey, event_id: str, at_s: float
    ) -> tuple[tuple[str, ...], float, float, int] | None:
        assert rule.after is not None
        marker = state.markers.get(key)
        if marker is None or not 0 <= at_s - marker[0] <= rule.after.within_s:
            return None
        return (marker[1], event_id), marker[0], at_s, 2

    def sweep(self) -> None:
        """Forget state that no event of its tenant can still use: every entry is judged by its
        own tenant's watermark, ``lateness_s`` later than it would need to be. A cooldown is
        kept until the tenant's events are past its end by that much, so a late event inside it
        is still held back."""
        marks, late = self.watermarks, self._lateness_s
        for rule in self._rules:
            state = self._state[rule.id]
            if rule.threshold is not None:
                span = rule.threshold.window_s + late
                for key, window in state.windows.items():
                    if window[-1][0] < marks.get(key[0], 0.0) - span:
                        state.windows.pop(key)
            if rule.after is not None:
                span = rule.after.within_s + late
                for key, marker in state.markers.items():
                    if marker[0] < marks.get(key[0], 0.0) - span:
                        state.markers.pop(key)
            span = rule.cooldown_s + late
            for key, fired_s in state.fired.items():
                if fired_s < marks.get(key[0], 0.0) - span:
                    state.fired.pop(key)


HEADER_FIELDS = frozenset({"id", "munchkinid", "subject", "stream", "eventtype"})


def _follower(rule: Rule, stream: str, event_type: str) -> bool:
    """Whether ``rule`` can only use an event of this stream and type as the second step of its
    sequence, under a key made of fields the record headers carry."""
    return (
        rule.after is not None
        and not rule.after.selector.accepts(stream, event_type)
        and all(path in HEADER_FIELDS for path in rule.key)
    )


def _lookup(doc: Doc, path: str, count: int) -> Any:
    if path == "count":
        return count
    try:
        return getter(path)(doc)
    except ValueError:
        return None


class SilenceWatch:
    """Tenants whose records stopped arriving, for the ``silence`` rules.

    The last record time is kept per tenant *and partition*, so that a partition leaving this
    member takes its evidence with it. A tenant is silent when no partition this member owns saw
    it for the rule's time; tenants named in the rule's ``tenants`` are watched from the start
    even before their first record.
    """

    def __init__(self, rules: RuleSet, started_s: float) -> None:
        self._rules = tuple(r for r in rules.rules if r.silence is not None)
        self._started_s = started_s
        self._seen: dict[str, dict[Hashable, tuple[float, str]]] = {}
        every = any(not r.selector.streams for r in self._rules)
        self._streams = None if every else {s for r in self._rules for s in r.selector.streams}

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def seen(
        self, partition: Hashable, munchkin: str, stream: str, at_s: float, event_id: str
    ) -> None:
        if not munchkin or (self._streams is not None and stream not in self._streams):
            return
        per_partition = self._seen.get(munchkin)
        if per_partition is None:
            per_partition = self._seen[munchkin] = {}
        last = per_partition.get(partition)
        if last is None or at_s >= last[0]:
            per_partition[partition] = (at_s, event_id)

    def forget(self, partitions: Collection[Hashable]) -> None:
        for per_partition in self._seen.values():
            for p in partitions:
                per_partition.pop(p, None)

    def check(self, now_s: float) -> list[Alert]:
        alerts = []
        for rule in self._rules:
            assert rule.silence is not None
            for munchkin in sorted(rule.tenants or self._seen):
                last = max(self._seen.get(munchkin, {}).values(), default=None)
                if last is None and munchkin not in rule.tenants:
                    continue
                since_s = last[0] if last else self._started_s
                if now_s - since_s < rule.silence.after_s:
                    continue
                trigger = last[1] if last else f"start:{self._started_s:.0f}"
                minutes = round((now_s - since_s) / 60)
                values = {"munchkinid": munchkin, "minutes": minutes}
                alerts.append(
                    Alert(
                        id=alert_id(rule.id, munchkin, trigger),
                        rule=rule.id,
                        severity=rule.severity,
                        key=munchkin,
                        munchkinid=munchkin,
                        summary=rule.render(values.get),
                        evidence=(last[1],) if last else (),
                        count=0,
                        first_seen_s=since_s,
                        last_seen_s=since_s,
                    )
                )
        return alerts
