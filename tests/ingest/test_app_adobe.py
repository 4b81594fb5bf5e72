"""Adobe I/O Events deliveries through the real app and the real broker."""

import json
from typing import Any

import orjson
import pytest

from pipeline.envelope import Envelope
from tests.support import payloads as p
from tests.support.ingress import (
    Ingress,
    answer,
)


async def test_single_flat_event_lands_as_exact_envelope(ingress: Ingress) -> None:
    event = p.lads_event(both_names=True)
    resp = await ingress.post_adobe(event)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"accepted": 1, "deadlettered": 0}
    [record] = await ingress.records(ingress.topics.lead_activity.name)
    envelope = Envelope.from_json(record.value)
    assert envelope.id == event["id"]
    assert envelope.adobeeventid == event["eventid"]
    assert envelope.data == event["data"]
    assert record.key == f"{p.MUNCHKIN}:884201".encode()
    headers = dict(record.headers)
    assert headers["ce_id"] == event["id"].encode()
    assert headers["content-type"] == b"application/cloudevents+json"
    assert headers["event_type"] == b"openemail"


async def test_batch_of_twenty_mixed_streams(ingress: Ingress) -> None:
    leads = [p.lads_event(data=p.lads_data(lead=str(n))) for n in range(10)]
    audits = [p.wrapped(p.audit_body("Smart Campaign", "activate"), shape="body") for _ in range(5)]
    audits += [p.wrapped(p.audit_body("Email", "approve"), shape="old") for _ in range(2)]
    notes = [
        p.wrapped(p.notification_body(k)) for k in ("web_services", "campaign_abort", "nurture")
    ]
    batch = leads + audits + notes
    assert len(batch) == 20
    resp = await ingress.post_adobe(batch)
    assert await resp.json() == {"accepted": 20, "deadlettered": 0}
    lead_records = await ingress.records(ingress.topics.lead_activity.name)
    audit_records = await ingress.records(ingress.topics.user_audit.name)
    note_records = await ingress.records(ingress.topics.notification.name)
    assert sorted(Envelope.from_json(r.value).id for r in lead_records) == sorted(
        e["id"] for e in leads
    )
    assert sorted(Envelope.from_json(r.value).id for r in audit_records) == sorted(
        a.get("eventid") or a["event_id"] for a in audits
    )
    assert {r.key for r in note_records} == {
        f"{p.MUNCHKIN}:{k}".encode() for k in ("web_services", "campaign_abort", "nurture")
    }
    assert {r.key for r in audit_records} == {
        f"{p.MUNCHKIN}:Smart Campaign:40512".encode(),
        f"{p.MUNCHKIN}:Email:40512".encode(),
    }


async def test_production_and_sandbox_share_one_registration(ingress: Ingress) -> None:
    batch = [p.lads_event(data=p.lads_data(munchkin=p.SANDBOX)), p.lads_event()]
    resp = await ingress.post_adobe(batch)
    assert await resp.json() == {"accepted": 2, "deadlettered": 0}
    records = await ingress.records(ingress.topics.lead_activity.name)
    assert {r.key.partition(b":")[0] for r in records} == {b"321-XYZ-987", b"654-SBX-321"}


async def test_unnormalizable_events_are_dead_lettered_and_the_rest_accepted(
    ingress: Ingress,
) -> None:
    bad = p.lads_event()
    del bad["data"]["leadId"]
    unknown = p.lads_event()
    unknown["type"] = "com.example.unknown"
    resp = await ingress.post_adobe([p.lads_event(), bad, unknown])
    assert await resp.json() == {"accepted": 1, "deadlettered": 2}
    letters = await ingress.records(ingress.topics.dead_letter.name)
    by_reason = {dict(r.headers)["dl_reason"]: r for r in letters}
    assert set(by_reason) == {b"missing_lead_id", b"unknown_type"}
    assert orjson.loads(by_reason[b"missing_lead_id"].value) == bad
    assert dict(by_reason[b"unknown_type"].headers)["munchkin_id"] == p.MUNCHKIN.encode()


async def test_signed_malformed_body_is_dead_lettered_with_its_exact_bytes(
    ingress: Ingress,
) -> None:
    body = b'{"eventid": "x", "event": {'
    resp = await ingress.post_adobe(body)
    assert await resp.json() == {"accepted": 0, "deadlettered": 1}
    [letter] = await ingress.records(ingress.topics.dead_letter.name)
    assert letter.value == body
    assert dict(letter.headers)["dl_reason"] == b"malformed_json"


async def test_sync_challenge_echoed(ingress: Ingress) -> None:
    resp = await ingress.client.get("/v1/adobe-io", params={"challenge": "8ec8d794-e0ab-42df"})
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert await resp.text() == "8ec8d794-e0ab-42df"
    resp = await ingress.client.get(
        "/v1/adobe-io", params={"challenge": "abc"}, headers={"Accept": "application/json"}
    )
    assert await resp.json() == {"challenge": "abc"}
    resp = await ingress.client.get("/v1/adobe-io")
    assert resp.status == 200
    assert await resp.text() == ""


async def test_async_validation_url_is_logged_not_published(ingress: Ingress) -> None:
    url = "https://csm.adobe.io/csm/registrations/validate?id=abc&challenge=def"
    resp = await ingress.client.post("/v1/adobe-io", json={"validationUrl": url})
    assert resp.status == 200
    assert (await resp.json())["validation"] == "logged"
    metrics = await (await ingress.client.get("/metrics")).text()
    assert 'datastreams_validation_challenges_total{kind="async"} 1.0' in metrics
    assert await ingress.total_published() == 0


async def test_duplicate_delivery_keeps_the_same_id(ingress: Ingress) -> None:
    event = p.wrapped(p.audit_body("Email", "approve"))
    for _ in range(2):
        assert (await ingress.post_adobe(event)).status == 200
    records = await ingress.records(ingress.topics.user_audit.name)
    ids = [json.loads(r.value)["id"] for r in records]
    assert len(ids) == 2
    assert ids[0] == ids[1] == event["eventid"]


@pytest.mark.parametrize("when", [1e300, -1e300, "9999-12-31T23:59:59-14:00", "0001-01-01T00:00Z"])
async def test_an_extreme_adobe_time_loses_no_neighbour(ingress: Ingress, when: Any) -> None:
    extreme = p.lads_event() | {"time": when}
    status, body = await answer(await ingress.post_adobe([p.lads_event(), extreme]))
    assert status == 200, body
    assert body["accepted"] + body["deadlettered"] == 2
    assert body["accepted"] >= 1
