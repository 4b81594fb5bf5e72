"""The simulator's events: every kind docs/protocol.md lists, and each becomes the envelope (or the
dead letter) the ingress' own normalizer makes of it."""

import random
from datetime import UTC, datetime

import pytest

from ingest.normalize import normalize_adobe, normalize_direct_push
from ingest.parse import adobe_items
from pipeline.activity_types import standard_names
from tools.simulate.catalog import AUDIT_PAIRS, NOTIFICATIONS, ActivityType, activity_types
from tools.simulate.events import EventFactory, SimEvent
from tools.simulate.tenants import make_tenants

AT = "2026-03-05T11:00:00.000Z"
TENANTS = make_tenants(3, seed=5)


def factory(seed: int = 1) -> EventFactory:
    return EventFactory(random.Random(seed), TENANTS, lambda: datetime(2026, 3, 5, 11, tzinfo=UTC))


def adobe_outcome(event: SimEvent) -> tuple[list[str], list[tuple[str, bytes]]]:
    outcome = normalize_adobe(adobe_items([event.doc]), AT, event.tenant)
    return [e.id for e in outcome.envelopes], [(d.reason, d.raw) for d in outcome.dead_letters]


def test_every_activity_type_of_the_table_and_custom_ones_from_100000() -> None:
    types = activity_types()
    ids = {t.id for t in types}
    assert set(standard_names()) <= ids
    custom = [t for t in types if t.id not in standard_names()]
    assert custom
    assert all(t.id >= 100_000 and t.custom for t in custom)
    assert all(t.attributes for t in types if t.id != 37)  # Delete Lead has none


@pytest.mark.parametrize("kind", activity_types(), ids=lambda t: f"{t.id}")
def test_each_activity_type_normalizes_on_both_paths(kind: ActivityType) -> None:
    f = factory(kind.id)
    tenant = TENANTS[0]
    pushed = f.activity(tenant, kind)
    [envelope] = normalize_direct_push([pushed.doc], tenant.munchkin_id, AT).envelopes
    assert (envelope.id, envelope.type) == (pushed.id, pushed.code)
    assert envelope.data["activityTypeId"] == kind.id
    assert isinstance(pushed.doc["leadId"], int)  # a number on the direct push
    lads = f.lead_activity(tenant, kind)
    assert isinstance(lads.doc["data"]["leadId"], str)  # a string on Adobe I/O
    assert adobe_outcome(lads) == ([lads.id], [])
    assert lads.code.endswith(".custom") is (kind.id >= 100_000)


def test_attributes_carry_name_type_and_a_plausible_value() -> None:
    f = factory()
    event = f.activity(TENANTS[1], next(t for t in activity_types() if t.id == 10))
    attributes = {a["name"]: a for a in event.doc["attributes"]}
    assert set(attributes) <= {
        "Campaign Run ID", "Mailing ID", "Platform", "Device", "User Agent", "Is Mobile Device"
    }  # fmt: skip
    for a in attributes.values():
        assert a["dataType"] in ("integer", "string", "boolean", "object")
        if a["dataType"] == "boolean":
            assert isinstance(a["value"], bool)


@pytest.mark.parametrize(("component", "action"), AUDIT_PAIRS)
def test_every_audit_component_and_action(component: str, action: str) -> None:
    event = factory().audit(TENANTS[2], (component, action))
    assert event.doc["event"]["body"]["data"]["eventAction"] == action
    assert adobe_outcome(event) == ([event.adobe_event_id], [])


@pytest.mark.parametrize("kind", sorted(NOTIFICATIONS))
def test_every_notification_type(kind: str) -> None:
    event = factory().notification(TENANTS[0], kind)
    assert event.code.endswith(kind)
    assert adobe_outcome(event) == ([event.adobe_event_id], [])


def test_same_seed_same_events() -> None:
    first = [factory(9).adobe_event(TENANTS[0]).doc for _ in range(20)]
    again = [factory(9).adobe_event(TENANTS[0]).doc for _ in range(20)]
    assert first == again


def test_malformed_events_are_dead_lettered_with_the_reason_and_keep_their_id() -> None:
    f = factory(3)
    reasons = set()
    for n in range(60):
        tenant = TENANTS[n % 3]
        good = f.activity(tenant) if n % 2 else f.adobe_event(tenant)
        bad = f.malformed(good)
        assert bad.topic == "dead-letter"
        assert bad.id == good.id
        if bad.adobe_event_id is None:
            outcome = normalize_direct_push([bad.doc], tenant.munchkin_id, AT)
            dead = [(d.reason, d.raw) for d in outcome.dead_letters]
        else:
            _, dead = adobe_outcome(bad)
        [(reason, raw)] = dead
        assert reason == bad.reason
        assert bad.id.encode() in raw
        reasons.add(reason)
    assert len(reasons) >= 5
