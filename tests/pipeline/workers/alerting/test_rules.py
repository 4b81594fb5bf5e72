"""Alert rules without a broker: the file format, operators, windows, cooldowns, sequences,
silence, and every default rule on its scenario and near-misses."""

import tomllib
from typing import Any, cast

import orjson
import pytest

from pipeline.consume.event_time import event_time_s
from pipeline.envelope import Envelope
from pipeline.workers.alerting.engine import RuleEngine, SilenceWatch
from pipeline.workers.alerting.rule_file import parse_rules
from pipeline.workers.alerting.rules import RuleSet
from pipeline.workers.errors import RuleError
from tests.pipeline.events import MUNCHKIN, OTHER, T0, audit, lead, notification
from tests.pipeline.workers.alerting.scenarios import default_rule_scenarios
from tests.pipeline.workers.harness import DEPLOY

MINUTE = 60.0


def default_rules() -> RuleSet:
    return parse_rules(tomllib.loads((DEPLOY / "alert-rules.toml").read_text()), "default")


def rules(text: str) -> RuleSet:
    return parse_rules(tomllib.loads(text))


def doc(env: Envelope) -> dict[str, Any]:
    return cast(dict[str, Any], orjson.loads(env.to_json()))  # what the worker reads off Kafka


def feed(engine: RuleEngine, envs: list[Envelope]) -> list[Any]:
    fired = []
    for env in envs:
        candidates = engine.candidates(env.stream.value, env.eventtype)
        fired += engine.observe(doc(env), event_time_s(env.time), candidates)
    return fired


@pytest.mark.parametrize("scenario", default_rule_scenarios(), ids=lambda s: s.name)
def test_each_default_rule_fires_on_its_scenario_and_not_on_near_misses(scenario: Any) -> None:
    fired = feed(RuleEngine(default_rules()), scenario.events)
    assert {(a.rule, a.key) for a in fired} == scenario.fires
    assert len(fired) == len(scenario.fires)  # nothing fires twice


def test_default_rules_cover_the_issue_and_parse() -> None:
    ids = set(default_rules().ids)
    assert ids == {
        "campaign-aborted",
        "campaign-failed",
        "salesforce-sync-failed",
        "web-services-quota-high",
        "web-services-quota-exhausted",
        "ab-test-result",
        "failed-login-burst",
        "admin-change",
        "unsubscribed-then-emailed",
        "bounced-then-delivered",
        "large-score-change",
        "tenant-silent",
    }


def test_alert_carries_evidence_first_and_last_seen_and_a_summary() -> None:
    logins = [audit("Login", "login failure", user="u@x", at_s=T0 + i * MINUTE) for i in range(5)]
    [alert] = feed(RuleEngine(default_rules()), logins)
    assert alert.rule == "failed-login-burst"
    assert alert.severity.value == "critical"
    assert alert.evidence == tuple(e.id for e in logins)
    assert (alert.first_seen_s, alert.last_seen_s, alert.count) == (T0, T0 + 4 * MINUTE, 5)
    assert alert.summary == f"5 failed logins of u@x in {MUNCHKIN} within 10 minutes"


def test_window_slides_and_cooldown_holds_then_expires() -> None:
    engine = RuleEngine(default_rules())
    burst = [audit("Login", "login failure", user="w@x", at_s=T0 + i * MINUTE) for i in range(5)]
    assert len(feed(engine, burst)) == 1
    # within the 30-minute cooldown: a second burst adds nothing
    again = [
        audit("Login", "login failure", user="w@x", at_s=T0 + (10 + i) * MINUTE) for i in range(5)
    ]
    assert feed(engine, again) == []
    # after the cooldown: a new burst fires again
    later = [
        audit("Login", "login failure", user="w@x", at_s=T0 + (60 + i) * MINUTE) for i in range(5)
    ]
    [alert] = feed(engine, later)
    assert alert.first_seen_s == T0 + 60 * MINUTE


def test_cooldown_is_per_alert_key() -> None:
    engine = RuleEngine(default_rules())
    a = [notification("campaign_abort", {"campaignId": 1}, at_s=T0)]
    b = [notification("campaign_abort", {"campaignId": 2}, at_s=T0 + MINUTE)]
    a2 = [notification("campaign_abort", {"campaignId": 1}, at_s=T0 + 2 * MINUTE)]
    a3 = [notification("campaign_abort", {"campaignId": 1}, at_s=T0 + 40 * MINUTE)]
    assert [x.key for x in feed(engine, a + b + a2 + a3)] == [
        f"{MUNCHKIN}:1",
        f"{MUNCHKIN}:2",
        f"{MUNCHKIN}:1",
    ]


def test_sequence_needs_the_first_event_within_its_window() -> None:
    engine = RuleEngine(default_rules())
    late = [lead(9, "7", at_s=T0), lead(6, "7", at_s=T0 + 169 * 3600)]
    assert feed(engine, late) == []


def test_alert_ids_are_the_same_for_the_same_trigger() -> None:
    events = [lead(9, "8", at_s=T0), lead(7, "8", at_s=T0 + 60)]
    first = feed(RuleEngine(default_rules()), events)
    second = feed(RuleEngine(default_rules()), events)
    assert [a.id for a in first] == [a.id for a in second]
    assert first


def test_silence_fires_for_quiet_tenants_only_and_once_per_episode() -> None:
    watch = SilenceWatch(default_rules(), started_s=T0)
    watch.seen(0, MUNCHKIN, "lead-activity", T0, "e1")
    watch.seen(1, OTHER, "lead-activity", T0 + 25 * MINUTE, "e2")
    assert watch.check(T0 + 29 * MINUTE) == []
    [alert] = watch.check(T0 + 31 * MINUTE)
    assert (alert.rule, alert.key, alert.evidence) == ("tenant-silent", MUNCHKIN, ("e1",))
    assert alert.summary == f"No events from {MUNCHKIN} for 31 minutes"
    assert next(a.id for a in watch.check(T0 + 40 * MINUTE)) == alert.id  # same episode, same id
    watch.seen(0, MUNCHKIN, "lead-activity", T0 + 41 * MINUTE, "e3")
    assert {a.key for a in watch.check(T0 + 56 * MINUTE)} == {OTHER}
    watch.forget([1])  # the partition moved away: no evidence left for OTHER
    assert watch.check(T0 + 60 * MINUTE) == []


def test_named_tenants_are_watched_before_their_first_event() -> None:
    rs = rules('[[rules]]\nid = "quiet"\nsilence = { minutes = 5 }\ntenants = ["111-AAA-111"]\n')
    watch = SilenceWatch(rs, started_s=T0)
    assert watch.check(T0 + 4 * MINUTE) == []
    [alert] = watch.check(T0 + 6 * MINUTE)
    assert alert.key == "111-AAA-111"
    assert alert.evidence == ()


OPERATORS = [
    ("eq", 7, {"n": 7}, True),
    ("eq", 7, {"n": "7"}, True),
    ("eq", "7", {"n": 7}, False),
    ("ne", 7, {"n": 8}, True),
    ("in", [1, 2], {"n": 2}, True),
    ("in", ["a", "b"], {"n": "c"}, False),
    ("not_in", [1, 2], {"n": 3}, True),
    ("regex", "^ab", {"n": "abc"}, True),
    ("regex", "^ab", {}, False),
    ("gt", 5, {"n": "+6"}, True),
    ("gte", 5, {"n": 5}, True),
    ("lt", 5, {"n": 5}, False),
    ("lte", 5, {"n": 4.5}, True),
    ("abs_gte", 50, {"n": "-51"}, True),
    ("abs_gte", 50, {"n": "x"}, False),
    ("exists", True, {"n": 0}, True),
    ("exists", False, {"n": 0}, False),
    ("eq", True, {"n": True}, False),  # booleans are not numbers
]


@pytest.mark.parametrize(("op", "value", "data", "holds"), OPERATORS)
def test_operators(op: str, value: Any, data: dict[str, Any], holds: bool) -> None:
    condition = f'{{ field = "data.n", op = "{op}", value = {_toml(value)} }}'
    rs = rules(f'[[rules]]\nid = "r"\nwhere = [{condition}]\n')
    [rule] = rs.rules
    env = notification("x", {}, subject="s")
    target = {**doc(env), "data": data}
    assert rule.selector.matches(target) is holds


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def test_attribute_fields_read_lead_activity_attributes_by_name() -> None:
    rs = rules(
        '[[rules]]\nid = "r"\nwhere = [{ field = "attr.change value", op = "eq", value = 5 }]\n'
    )
    env = lead(22, attributes={"Change Value": "5"})
    assert rs.rules[0].selector.matches(doc(env))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rules]]\nid = "Bad Id"\n', "rules[0] (Bad Id).id has value 'Bad Id'"),
        (
            '[[rules]]\nid = "r"\nseverity = "loud"\n',
            "Expected one of ['info', 'warning', 'critical']",
        ),
        ('[[rules]]\nid = "r"\ncolour = "red"\n', "unknown key(s) ['colour']"),
        ('[[rules]]\nid = "r"\nstreams = ["lead"]\n', "rules[0] (r).streams has value ['lead']"),
        (
            '[[rules]]\nid = "r"\nwhere = [{ field = "nope", op = "eq", value = 1 }]\n',
            "unknown field 'nope'",
        ),
        (
            '[[rules]]\nid = "r"\nwhere = [{ field = "data.x", op = "like", value = 1 }]\n',
            ".where[0].op",
        ),
        (
            '[[rules]]\nid = "r"\nwhere = [{ field = "data.x", op = "gt", value = "a" }]\n',
            "Expected a number",
        ),
        ('[[rules]]\nid = "r"\nevent_type_regex = "("\n', "Expected a regular expression"),
        ('[[rules]]\nid = "r"\nthreshold = { count = 1, window_minutes = 5 }\n', "threshold.count"),
        (
            '[[rules]]\nid = "r"\nthreshold = { count = 2, window_minutes = 5 }\n'
            "silence = { minutes = 1 }\n",
            "at most one of threshold, after and silence",
        ),
        ('[[rules]]\nid = "r"\n[[rules]]\nid = "r"\n', "rule id(s) ['r'] appear more than once"),
        ("rule = 1\n", "unknown top-level key(s) ['rule']"),
    ],
)
def test_invalid_rules_are_reported_with_rule_key_and_value(text: str, message: str) -> None:
    with pytest.raises(RuleError) as raised:
        rules(text)
    assert message in str(raised.value)


def test_horizon_covers_the_longest_rule_state() -> None:
    assert default_rules().horizon_s == 168 * 3600.0


ENGAGED = """
[[rules]]
id = "engaged-lead"
streams = ["lead-activity"]
where = [{ field = "data.activityTypeId", op = "in", value = [2, 3, 11] }]
key = ["munchkinid", "subject"]
threshold = { count = 3, window_minutes = 30 }
cooldown_minutes = 60
"""
HOUR = 3600.0


def lagging_tenants() -> list[Envelope]:
    """Tenant A live, tenant B 3 h of event time behind in the same partition: three leads of
    each make three engagements ten minutes apart, interleaved as they arrive; B's first lead
    comes back 30 minutes later, inside its cooldown, with three more."""
    out = []
    for step in range(3):
        for n in range(3):
            out.append(lead(2, f"a{n}", at_s=T0 + 3 * HOUR + step * 10 * MINUTE))
            out.append(lead(11, f"b{n}", at_s=T0 + step * 10 * MINUTE, munchkin=OTHER))
    out += [lead(3, "b0", at_s=T0 + (50 + 5 * i) * MINUTE, munchkin=OTHER) for i in range(3)]
    return out


def test_a_lagging_tenant_fires_what_a_replay_fires_even_when_swept_after_every_event() -> None:
    events = lagging_tenants()
    replay = feed(RuleEngine(rules(ENGAGED)), events)
    live, swept = RuleEngine(rules(ENGAGED)), []
    for env in events:  # a tick between every two records: the worst case for sweeping
        swept += feed(live, [env])
        live.sweep()
    assert [a.id for a in swept] == [a.id for a in replay]
    assert sorted(a.key for a in swept) == sorted(
        [f"{MUNCHKIN}:a{n}" for n in range(3)] + [f"{OTHER}:b{n}" for n in range(3)]
    )
    assert live.watermarks == {MUNCHKIN: T0 + 3 * HOUR + 20 * MINUTE, OTHER: T0 + 60 * MINUTE}


def test_a_cooldown_is_kept_until_late_events_of_its_tenant_are_past_it() -> None:
    burst = [lead(2, "7", at_s=T0 + i * MINUTE) for i in range(3)]
    later_lead = [lead(2, "8", at_s=T0 + 2 * HOUR)]  # the tenant's watermark moves on
    late = [lead(2, "7", at_s=T0 + (20 + i) * MINUTE) for i in range(3)]  # inside the cooldown
    engine = RuleEngine(rules(ENGAGED), lateness_s=HOUR)
    fired = feed(engine, burst + later_lead)
    engine.sweep()
    fired += feed(engine, late)
    assert [a.key for a in fired] == [f"{MUNCHKIN}:7"]
    # past the lateness allowed, the cooldown goes: the memory stays bounded
    feed(engine, [lead(2, "9", at_s=T0 + 3 * HOUR)])
    engine.sweep()
    assert feed(engine, late) != []
