"""Alert rules: the documented file format, parsed into frozen values that match envelopes.

A rule file (TOML, ``deploy/workers/alert-rules.toml``) holds ``[[rules]]`` tables::

    id          "failed-login-burst"         [a-z0-9-], unique; the metric label and alert name
    severity    "info" | "warning" | "critical"
    summary     text with {field} placeholders, e.g. "{data.userId} failed to log in"
    streams     ["user-audit"]                optional: lead-activity, user-audit, notification
    event_types ["login.login_failure"]       optional: exact envelope ``eventtype`` values
    event_type_regex "^login\\..*fail"        optional: regular expression on ``eventtype``
    tenants     ["123-ABC-456"]               optional: munchkin IDs
    where       [{field, op, value}, ...]     optional: every condition must hold
    key         ["munchkinid", "data.userId"] fields whose values group events and name the alert
    cooldown_minutes 30                       an alert key fires at most once per cooldown
    add_to_list "followup"                    optional: add the lead to this Marketo list
    threshold   {count = 5, window_minutes = 10}      fire when count events fall in the window
    after       {within_hours = 168, streams, event_types, event_type_regex, where}
                                              fire when an event matching ``after`` came first,
                                              for the same key, at most ``within`` earlier
    silence     {minutes = 30}                fire when a tenant sent nothing for that long

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

from pipeline.config import HOURS, MINUTES, Section
from pipeline.envelope import Stream
from pipeline.workers.errors import RuleError

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
RULE_KEYS = {
    "id",
    "description",
    "severity",
    "summary",
    "streams",
    "event_types",
    "event_type_regex",
    "tenants",
    "where",
    "key",
    "cooldown_minutes",
    "add_to_list",
    "threshold",
    "after",
    "silence",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
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


def _predicate(op: Op, expected: Any, pattern: re.Pattern[str] | None) -> Callable[[Any], bool]:
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


# ---- parsing ----------------------------------------------------------------------------------


class _Reader(Section):
    """The rule file's reader: the toolkit's, raising ``RuleError``, with regular expressions."""

    def __init__(self, where: str, values: Mapping[str, Any], known: set[str]) -> None:
        super().__init__(where, values, known, RuleError)

    def regex(self, key: str) -> re.Pattern[str] | None:
        if key not in self.values:
            return None
        try:
            return re.compile(self.text(key))
        except re.error as exc:
            raise self.fail(key, f"a regular expression ({exc})") from exc


def _condition(where: str, raw: Any) -> Condition:
    if not isinstance(raw, Mapping):
        raise RuleError(f"{where} must be a table {{field, op, value}}, got {raw!r}.")
    r = _Reader(where, raw, {"field", "op", "value"})
    field = r.text("field")
    try:
        get = getter(field)
    except ValueError as exc:
        raise r.fail("field", str(exc)) from exc
    op_text = r.text("op")
    if op_text not in Op.__members__.values():
        raise r.fail("op", f"one of {[o.value for o in Op]}")
    op = Op(op_text)
    if "value" not in raw:
        raise RuleError(f"{where}.value is required.")
    value = raw["value"]
    pattern = None
    if op in (Op.IN, Op.NOT_IN) and not isinstance(value, list):
        raise r.fail("value", "a list")
    if op is Op.REGEX:
        pattern = r.regex("value")
    if op in (Op.GT, Op.GTE, Op.LT, Op.LTE, Op.ABS_GTE) and number(value) is None:
        raise r.fail("value", "a number")
    if op is Op.EXISTS and not isinstance(value, bool):
        raise r.fail("value", "true or false")
    value = tuple(value) if isinstance(value, list) else value
    return Condition(field, op, value, get, _predicate(op, value, pattern))


def _selector(where: str, r: _Reader) -> Selector:
    streams = []
    for name in r.texts("streams"):
        if name not in Stream.__members__.values():
            raise r.fail("streams", f"stream names from {[s.value for s in Stream]}")
        streams.append(Stream(name))
    raw_where = r.values.get("where", [])
    if not isinstance(raw_where, list):
        raise r.fail("where", "a list of {field, op, value} tables")
    return Selector(
        streams=frozenset(streams),
        event_types=frozenset(r.texts("event_types")),
        event_type_regex=r.regex("event_type_regex"),
        where=tuple(_condition(f"{where}.where[{i}]", c) for i, c in enumerate(raw_where)),
    )


def parse_rule(index: int, raw: Any) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleError(f"rules[{index}] must be a table.")
    rule_id = raw.get("id")
    where = f"rules[{index}]" + (f" ({rule_id})" if isinstance(rule_id, str) else "")
    r = _Reader(where, raw, RULE_KEYS)
    rule_id = r.text("id")
    if not _ID.match(rule_id):
        raise r.fail("id", "lower-case letters, digits and '-'")
    severity = r.text("severity", "warning")
    if severity not in Severity.__members__.values():
        raise r.fail("severity", f"one of {[s.value for s in Severity]}")
    key = r.texts("key") or ("munchkinid",)
    try:
        key_getters = tuple(getter(k) for k in key)
    except ValueError as exc:
        raise r.fail("key", str(exc)) from exc
    add_to_list = raw.get("add_to_list")
    if add_to_list is not None:
        add_to_list = r.text("add_to_list")
    rule = Rule(
        id=rule_id,
        severity=Severity(severity),
        summary=r.text("summary", f"{rule_id} for {{munchkinid}}"),
        description=r.text("description", ""),
        selector=_selector(where, r),
        key=key,
        key_getters=key_getters,
        cooldown_s=r.number("cooldown_minutes", 0) * MINUTES,
        tenants=frozenset(r.texts("tenants")),
        add_to_list=add_to_list,
        threshold=_threshold(where, r.table("threshold")),
        after=_after(where, r.table("after")),
        silence=_silence(where, r.table("silence")),
    )
    if sum(x is not None for x in (rule.threshold, rule.after, rule.silence)) > 1:
        raise RuleError(f"{where}: use at most one of threshold, after and silence.")
    return rule


def _threshold(where: str, raw: Mapping[str, Any] | None) -> Threshold | None:
    if raw is None:
        return None
    r = _Reader(f"{where}.threshold", raw, {"count", "window_minutes"})
    return Threshold(
        int(r.number("count", None, 2)), r.number("window_minutes", None, 0.01) * MINUTES
    )


def _after(where: str, raw: Mapping[str, Any] | None) -> After | None:
    if raw is None:
        return None
    known = {"within_hours", "streams", "event_types", "event_type_regex", "where"}
    r = _Reader(f"{where}.after", raw, known)
    return After(_selector(f"{where}.after", r), r.number("within_hours", None, 0.001) * HOURS)


def _silence(where: str, raw: Mapping[str, Any] | None) -> Silence | None:
    if raw is None:
        return None
    r = _Reader(f"{where}.silence", raw, {"minutes"})
    return Silence(r.number("minutes", None, 0.01) * MINUTES)


def parse_rules(doc: Mapping[str, Any], source: str = "rules") -> RuleSet:
    """A parsed rule file (TOML document) → ``RuleSet``; ``RuleError`` names what is wrong."""
    unknown = sorted(set(doc) - {"rules"})
    if unknown:
        raise RuleError(f"{source} has unknown top-level key(s) {unknown}; expected [[rules]].")
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RuleError(f"{source}: 'rules' must be an array of tables ([[rules]]).")
    rules = tuple(parse_rule(i, raw) for i, raw in enumerate(raw_rules))
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuleError(f"{source}: rule id(s) {duplicates} appear more than once.")
    return RuleSet(rules)
