"""The alert-rule file: its documented format, parsed into the values of ``rules.py``.

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
from collections.abc import Mapping
from typing import Any

from pipeline.config import HOURS, MINUTES, Section
from pipeline.envelope import Stream
from pipeline.workers.alerting.rules import (
    After,
    Condition,
    Op,
    Rule,
    RuleSet,
    Selector,
    Severity,
    Silence,
    Threshold,
    getter,
    number,
    predicate,
)
from pipeline.workers.errors import RuleError

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
    return Condition(field, op, value, get, predicate(op, value, pattern))


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
