"""Every path into Kafka, each with deliveries of the own tenant, another tenant, both mixed, and
unparseable ones, on the real broker: accepted, or 403 with nothing of the delivery on any topic
(each topic read to its end).

Redrive is a path too: dead letters written as an older, buggy ingress would have written them
go back through the same gate, and what it refuses stays a dead letter.
"""

from typing import Any

import orjson
import pytest

from ingest.redrive import RedriveFilter, ledger_topic, redrive
from ingest.settings import ServerSettings
from pipeline.envelope import DeadLetter, Via
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings
from pipeline.topics import route_dead_letter
from tests.support import payloads as p
from tests.support.ingress import (
    OTHER_CLIENT,
    OTHER_MUNCHKIN,
    Ingress,
    IngressFactory,
    answer,
)

AT = "2026-03-02T09:15:05.000Z"


def activity_of(munchkin: str | None = None, usable: bool = True) -> dict[str, Any]:
    activity = p.activity()
    if munchkin:
        activity["munchkinId"] = munchkin
    if not usable:
        del activity["leadId"]
    return activity


PUSHES: dict[str, tuple[bytes, int]] = {  # name: (body, status)
    "own": (orjson.dumps(p.direct_push([activity_of()])), 200),
    "other": (orjson.dumps(p.direct_push([activity_of()], munchkin=OTHER_MUNCHKIN)), 403),
    "mixed": (orjson.dumps(p.direct_push([activity_of(), activity_of(OTHER_MUNCHKIN)])), 403),
    "mixed unusable": (
        orjson.dumps(p.direct_push([activity_of(), activity_of(OTHER_MUNCHKIN, usable=False)])),
        403,
    ),
    "unparseable": (b'{"munchkinId": "999-OTH-999", "activities": [{', 200),
}


def adobe_event(munchkin: str, client: str = p.CLIENT_ID, usable: bool = True) -> dict[str, Any]:
    event = p.lads_event(data=p.lads_data(munchkin=munchkin), client_id=client)
    if not usable:
        event["type"] = "com.example.unknown"
    return event


ADOBE: dict[str, tuple[Any, int]] = {
    "own": ([adobe_event(p.MUNCHKIN), adobe_event(p.SANDBOX)], 200),
    "other": ([adobe_event(OTHER_MUNCHKIN)], 403),
    "mixed": ([adobe_event(p.MUNCHKIN), adobe_event(OTHER_MUNCHKIN)], 403),
    "mixed across recipients": (
        [adobe_event(OTHER_MUNCHKIN), adobe_event(OTHER_MUNCHKIN, OTHER_CLIENT)],
        403,
    ),
    "mixed unusable": (
        [adobe_event(p.MUNCHKIN), adobe_event(OTHER_MUNCHKIN, usable=False)],
        403,
    ),
    "unparseable": (b'[{"recipientclientid": "', 200),
}


DELIVERIES = [("push", name) for name in PUSHES] + [("adobe", name) for name in ADOBE]


@pytest.mark.parametrize(("route", "name"), DELIVERIES)
async def test_delivery_routes(ingress: Ingress, route: str, name: str) -> None:
    if route == "push":
        body, status = PUSHES[name]
        resp = await ingress.post_push(body)
    else:
        doc, status = ADOBE[name]
        resp = await ingress.post_adobe(doc)
    assert resp.status == status, await resp.text()
    if status == 403:
        assert (await resp.json())["error"] == "tenant_mismatch"
        assert await ingress.total_published() == 0
        return
    records = [r for t in ingress.topics.all() for r in await ingress.records(t.name)]
    assert records
    tenants = {r.key.partition(b":")[0] for r in records}
    assert tenants <= {p.MUNCHKIN.encode(), p.SANDBOX.encode(), b"unknown"}


async def write_dead_letters(
    ingress: Ingress, letters: list[tuple[DeadLetter, str | None]]
) -> None:
    """Dead letters as an older, buggy ingress would have written them."""
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    async with Publisher(kafka, ingress.topics, create_topics=False) as publisher:
        await publisher.wait_ready(30)
        records = [route_dead_letter(d, ingress.topics, who) for d, who in letters]
        await publisher.publish(records)


def push_letter(body: Any, labelled: str = p.MUNCHKIN) -> DeadLetter:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return DeadLetter("sha256:x", raw, "old_bug", "", labelled, None, Via.DIRECT_PUSH, AT)


def adobe_letter(doc: Any) -> DeadLetter:
    return DeadLetter("sha256:y", orjson.dumps(doc), "old_bug", "", None, None, Via.ADOBE_IO, AT)


async def test_redrive_admits_only_what_the_gate_admits(ingress: Ingress) -> None:
    own = push_letter(p.direct_push([activity_of()]))
    other = push_letter(p.direct_push([activity_of()], munchkin=OTHER_MUNCHKIN))
    mixed = push_letter(p.direct_push([activity_of(), activity_of(OTHER_MUNCHKIN)]))
    one_foreign_activity = push_letter(activity_of(OTHER_MUNCHKIN))
    unparseable = push_letter(b'{"activities": [')
    smuggled = adobe_letter(adobe_event(OTHER_MUNCHKIN))
    legacy_unknown_tenant = push_letter(p.direct_push([activity_of()]), labelled="777-GON-777")
    await write_dead_letters(
        ingress,
        [
            (own, f"push:{p.MUNCHKIN}"),
            (other, f"push:{p.MUNCHKIN}"),
            (mixed, f"push:{p.MUNCHKIN}"),
            (one_foreign_activity, None),  # written before dl_principal: munchkin_id counts
            (unparseable, f"push:{p.MUNCHKIN}"),
            (smuggled, f"adobe:{p.CLIENT_ID}"),
            (legacy_unknown_tenant, None),
        ],
    )
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    report = await redrive(kafka, ingress.topics, ingress.admission, RedriveFilter(), dry_run=False)
    assert (report.redriven, report.envelopes) == (1, 1)
    assert report.refused == {"tenant_mismatch": 5}
    assert report.still_unusable == {"malformed_json": 1}
    [record] = await ingress.records(ingress.topics.lead_activity.name)
    assert record.key.startswith(f"{p.MUNCHKIN}:".encode())
    assert len(await ingress.records(ledger_topic(ingress.topics).name)) == 1


async def test_redrive_applies_the_depth_limit_and_the_gate(make_ingress: IngressFactory) -> None:
    """Finding 3: A's too-deep push with an activity naming B was dead-lettered, and redrive
    then published it as B's event. The ingress now refuses such a push at the door (the gate
    reads the tenants it names without walking it), and so does redrive a dead letter that an
    older ingress wrote, whether or not the depth limit would let it be walked."""
    ingress = await make_ingress(server=ServerSettings(host="127.0.0.1", port=0, max_json_depth=6))
    deep = activity_of(OTHER_MUNCHKIN) | {"extra": {"a": {"b": {"c": {"d": {}}}}}}
    body = p.direct_push([deep])
    status, refusal = await answer(await ingress.post_push(body))
    assert (status, refusal["error"]) == (403, "tenant_mismatch")
    assert await ingress.total_published() == 0

    await write_dead_letters(ingress, [(push_letter(body), f"push:{p.MUNCHKIN}")])
    kafka = KafkaSettings(bootstrap_servers=ingress.bootstrap)
    same_limits = await redrive(
        kafka, ingress.topics, ingress.admission, RedriveFilter(p.MUNCHKIN), dry_run=False
    )
    assert (same_limits.refused, same_limits.still_unusable) == ({"tenant_mismatch": 1}, {})
    raised = ingress.admission
    raised = type(raised)(raised.directory, type(raised.limits)(1 << 20, 32, 1000))
    with_more_depth = await redrive(
        kafka, ingress.topics, raised, RedriveFilter(p.MUNCHKIN), dry_run=False
    )
    assert with_more_depth.refused == {"tenant_mismatch": 1}
    assert await ingress.records(ingress.topics.lead_activity.name) == []


async def test_push_with_an_unusable_activity_naming_another_tenant_is_refused(
    ingress: Ingress,
) -> None:
    foreign = p.activity() | {"munchkinId": OTHER_MUNCHKIN}
    del foreign["leadId"]  # cannot be normalized: before the gate it became A's dead letter
    status, body = await answer(await ingress.post_push(p.direct_push([p.activity(), foreign])))
    assert (status, body["error"]) == (403, "tenant_mismatch")
    assert OTHER_MUNCHKIN in body["detail"]
    assert await ingress.total_published() == 0


async def test_mixed_adobe_batch_checks_each_event_against_its_own_recipient(
    ingress: Ingress,
) -> None:
    # Recipient A's event names tenant B; a recipient-B event beside it used to widen the set.
    smuggled = p.lads_event(data=p.lads_data(munchkin=OTHER_MUNCHKIN))
    honest_b = p.lads_event(data=p.lads_data(munchkin=OTHER_MUNCHKIN), client_id=OTHER_CLIENT)
    status, body = await answer(await ingress.post_adobe([smuggled, honest_b]))
    assert (status, body["error"]) == (403, "tenant_mismatch")
    assert "event 0" in body["detail"]
    assert await ingress.total_published() == 0


async def test_mixed_adobe_batch_of_honest_events_is_accepted(ingress: Ingress) -> None:
    mine = p.lads_event()
    theirs = p.lads_event(data=p.lads_data(munchkin=OTHER_MUNCHKIN), client_id=OTHER_CLIENT)
    status, body = await answer(await ingress.post_adobe([mine, theirs]))
    assert (status, body) == (200, {"accepted": 2, "deadlettered": 0})
    keys = {r.key for r in await ingress.records(ingress.topics.lead_activity.name)}
    assert keys == {f"{p.MUNCHKIN}:884201".encode(), f"{OTHER_MUNCHKIN}:884201".encode()}
