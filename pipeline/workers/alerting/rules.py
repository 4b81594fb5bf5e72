"""Alert rules as frozen values that match envelopes: conditions, selectors, thresholds, the
rule set. The file format they are read from, and its parser, are ``rule_file.py``.

Fields: ``id type time subject munchkinid stream eventtype via source adobeeventid``,
``data.<path>`` (a key path into ``data``) and ``attr.<Name>`` (the value of the Lead Activity
attribute with that name, case-insensitive). Operators: ``eq ne in not_in regex gt gte lt lte
abs_gte exists``; the numeric ones accept numbers and numeric strings ("+10").
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pipeline.config import HOURS
from pipeline.envelope import Stream

TOP_FIELDS = (
    "id",
    "type",
    "time",
    "subject",
    "munchkinid",
    "stream",
    "eventtype",
    "via",
    "receivedat",
    "adobeeventid",
)
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")

Doc = Mapping[str, Any]  # an envelope as its JSON document (consume.record.decode_document)
Getter = Callable[[Doc], Any]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    REGEX = "regex"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    ABS_GTE = "abs_gte"
    EXISTS = "exists"


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def getter(path: str) -> Getter:
    """A function reading ``path`` from an envelope document; None when absent."""
    if path in TOP_FIELDS:
        return lambda doc: doc.get(path)
    if path == "source":
        return lambda doc: f"marketo:{doc.get('munchkinid')}"
    if path.startswith("data.") and len(path) > 5:
        keys = path[5:].split(".")
        if len(keys) == 1:
            key = keys[0]
            return lambda doc: doc["data"].get(key)
        return lambda doc: _dig(doc["data"], keys)
    if path.startswith("attr.") and len(path) > 5:
        name = path[5:].lower()
        return lambda doc: _attribute(doc["data"], name)
    raise ValueError(
        f"unknown field {path!r}; use one of {[*TOP_FIELDS, 'source']}, data.<path>, attr.<Name>"
    )


def _dig(value: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _attribute(data: Mapping[str, Any], name: str) -> Any:
    attributes = data.get("attributes")
    if not isinstance(attributes, list):
        return None
    for item in attributes:
        if isinstance(item, Mapping) and str(item.get("name", "")).lower() == name:
            return item.get("value")
    return None


_SCALARS = (str, int, float, type(None))


def predicate(op: Op, expected: Any, pattern: re.Pattern[str] | None) -> Callable[[Any], bool]:
    """The test of one condition, compiled once: values are compared as given, and numbers also
    match numeric strings ("+10" equals 10)."""
    if op is Op.EXISTS:
        want = bool(expected)
        return lambda a: (a is not None) is want
    if op in (Op.EQ, Op.NE, Op.IN, Op.NOT_IN):
        values = list(expected) if op in (Op.IN, Op.NOT_IN) else [expected]
        exact = frozenset(v for v in values if isinstance(v, _SCALARS) and not isinstance(v, bool))
        numbers = frozenset(
            n for v in values if not isinstance(v, str) and (n := number(v)) is not None
        )

        def member(a: Any) -> bool:
            if isinstance(a, bool) or not isinstance(a, _SCALARS):
                return False
            return a in exact or (isinstance(a, str) and number(a) in numbers)

        if op in (Op.EQ, Op.IN):
            return member
        return lambda a: not member(a)
    if op is Op.REGEX:
        assert pattern is not None
        search = pattern.search
        return lambda a: a is not None and search(str(a)) is not None
    e = number(expected)
    assert e is not None
    compare: Callable[[float], bool] = {
        Op.GT: lambda x: x > e,
        Op.GTE: lambda x: x >= e,
        Op.LT: lambda x: x < e,
        Op.LTE: lambda x: x <= e,
        Op.ABS_GTE: lambda x: abs(x) >= e,
    }[op]

    def numeric(a: Any) -> bool:
        x = number(a)
        return x is not None and compare(x)

    return numeric


@dataclass(frozen=True)
class Condition:
    field: str
    op: Op
    value: Any
    get: Getter
    test: Callable[[Any], bool]

    def holds(self, doc: Doc) -> bool:
        return self.test(self.get(doc))


@dataclass(frozen=True)
class Selector:
    """Which events a rule (or its ``after`` part) looks at."""

    streams: frozenset[Stream] = frozenset()
    event_types: frozenset[str] = frozenset()
    event_type_regex: re.Pattern[str] | None = None
    where: tuple[Condition, ...] = ()

    def accepts(self, stream: str, event_type: str) -> bool:
        """Cheap pre-filter on record headers, before any JSON is decoded."""
        if self.streams and stream not in self.streams:
            return False
        if self.event_types and event_type not in self.event_types:
            return False
        return self.event_type_regex is None or bool(self.event_type_regex.search(event_type))

    def matches(self, doc: Doc) -> bool:
        if not self.accepts(doc["stream"], doc["eventtype"]):
            return False
        return all(c.test(c.get(doc)) for c in self.where)


@dataclass(frozen=True)
class Threshold:
    count: int
    window_s: float


@dataclass(frozen=True)
class After:
    selector: Selector
    within_s: float


@dataclass(frozen=True)
class Silence:
    after_s: float


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    selector: Selector
    key: tuple[str, ...]
    key_getters: tuple[Getter, ...]
    cooldown_s: float = 0.0
    description: str = ""
    tenants: frozenset[str] = frozenset()
    add_to_list: str | None = None
    threshold: Threshold | None = None
    after: After | None = None
    silence: Silence | None = None

    @property
    def horizon_s(self) -> float:
        """How much history the rule's state depends on (what a restore must replay)."""
        spans = [self.cooldown_s]
        if self.threshold:
            spans.append(self.threshold.window_s)
        if self.after:
            spans.append(self.after.within_s)
        if self.silence:
            spans.append(24 * HOURS)  # which tenants were recently active
        return max(spans)

    def key_of(self, doc: Doc) -> str:
        return ":".join("" if (v := get(doc)) is None else str(v) for get in self.key_getters)

    def render(self, lookup: Callable[[str], Any]) -> str:
        def one(m: re.Match[str]) -> str:
            value = lookup(m.group(1).strip())
            return "?" if value is None else str(value)

        return _PLACEHOLDER.sub(one, self.summary)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    @property
    def horizon_s(self) -> float:
        return max((r.horizon_s for r in self.rules), default=0.0)
