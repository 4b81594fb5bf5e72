"""The direct Lead Activity push through the real app and the real broker."""

import pytest

from pipeline.envelope import Envelope
from tests.support import payloads as p
from tests.support.ingress import (
    SANDBOX_TOKEN,
    TOKEN,
    Ingress,
    answer,
)


async def test_five_hundred_activities_land_in_lead_order(ingress: Ingress) -> None:
    leads = [str(1000 + n % 7) for n in range(500)]
    activities = [p.activity(10, "Open Email", lead=lead) for lead in leads]
    resp = await ingress.post_push(p.direct_push(activities))
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"accepted": 500, "deadlettered": 0}
    records = await ingress.records(ingress.topics.lead_activity.name)
    assert len(records) == 500
    by_lead: dict[bytes, list[str]] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_lead.setdefault(r.key, []).append(Envelope.from_json(r.value).id)
    for lead in set(leads):
        expected = [a["marketoGUID"] for a in activities if str(a["leadId"]) == lead]
        assert (
            by_lead[f"{p.MUNCHKIN}:{lead}".encode()] == expected
        )  # one lead, one partition, in order
    envelope = Envelope.from_json(records[0].value)
    assert envelope.type == "com.adobe.platform.marketo.activity.standard.openemail"
    assert envelope.via.value == "direct-push"


async def test_bare_array_and_bare_token(ingress: Ingress) -> None:
    resp = await ingress.post_push(
        [p.activity(), p.activity(100002, "Webinar Attended")], Authorization=TOKEN
    )
    assert await resp.json() == {"accepted": 2, "deadlettered": 0}
    records = await ingress.records(ingress.topics.lead_activity.name)
    assert {dict(r.headers)["event_type"] for r in records} == {b"filloutform", b"custom"}


async def test_authenticated_malformed_push_is_dead_lettered(ingress: Ingress) -> None:
    body = b'{"activities": [ {"leadId": 1,'
    resp = await ingress.post_push(body)
    assert await resp.json() == {"accepted": 0, "deadlettered": 1}
    [letter] = await ingress.records(ingress.topics.dead_letter.name)
    assert letter.value == body
    headers = dict(letter.headers)
    assert headers["dl_reason"] == b"malformed_json"
    assert headers["munchkin_id"] == p.MUNCHKIN.encode()


async def test_bad_activity_dead_lettered_rest_accepted(ingress: Ingress) -> None:
    bad = p.activity()
    bad["leadId"] = None
    resp = await ingress.post_push(p.direct_push([p.activity(), bad, "nonsense"]))
    assert await resp.json() == {"accepted": 1, "deadlettered": 2}
    letters = await ingress.records(ingress.topics.dead_letter.name)
    assert sorted(dict(r.headers)["dl_reason"] for r in letters) == [
        b"invalid_activity",
        b"missing_lead_id",
    ]


async def test_empty_push_is_fine(ingress: Ingress) -> None:
    resp = await ingress.post_push(p.direct_push([]))
    assert await resp.json() == {"accepted": 0, "deadlettered": 0}


async def test_token_of_another_tenant_cannot_publish_for_this_one(ingress: Ingress) -> None:
    resp = await ingress.post_push(p.direct_push([p.activity()]), token=SANDBOX_TOKEN)
    assert resp.status == 403
    assert (await resp.json())["error"] == "tenant_mismatch"
    assert await ingress.total_published() == 0


@pytest.mark.parametrize("when", [1e15, 1e300, -1e300, 10**18, -(10**18)])
async def test_extreme_numeric_activity_dates_are_dead_letters(
    ingress: Ingress, when: float
) -> None:
    extreme = p.activity() | {"activityDate": when}
    status, body = await answer(await ingress.post_push(p.direct_push([p.activity(), extreme])))
    assert (status, body) == (200, {"accepted": 1, "deadlettered": 1})
