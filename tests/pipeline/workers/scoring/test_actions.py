"""Score actions in Marketo on the real broker: a lead's score crosses a threshold up, down and
up again (with hysteresis), and each crossing runs its actions exactly once against a fake
Marketo that answers each of its error codes once; a spent daily quota (607) dead-letters the
actions, and ``redrive-effects`` delivers them once, and only once."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.marketo.limiter import Limiter
from pipeline.workers.effects.redrive import redrive_effects
from tests.pipeline.events import MUNCHKIN, T0, lead
from tests.pipeline.workers.fakes import FakeMarketo, marketo_table
from tests.pipeline.workers.harness import (
    input_topics,
    publish,
    publisher,
    running,
    unique,
    until,
    values,
    worker_settings,
)

UP = [
    {"action": "request_campaign", "campaign_id": 77, "token": "{{my.leadScore}}"},
    {"action": "change_program_status", "program_id": 2001, "status": "Nurture.Member"},
    {"action": "add_to_list", "list": "followup"},
]
DOWN = [
    {"action": "remove_from_list", "list": "followup"},
    {"action": "change_program_status", "program_id": 2001, "status": "Nurture.Paused"},
]


def scoring_doc(marketo: str) -> dict[str, Any]:
    return {
        "scoring": {
            "push_to_marketo": True,
            "thresholds": [
                {
                    "id": "mql",
                    "tenant": MUNCHKIN,
                    "up_at": 30,
                    "down_at": 10,
                    "on_up": UP,
                    "on_down": DOWN,
                }
            ],
        },
        # five attempts: one call may meet every scripted error
        "marketo": [marketo_table(marketo, lists={"followup": 1001}, max_attempts=5)],
    }


# Noon in Chicago, where Marketo's quota resets at midnight: within 30 s of the reset a worker
# waits for it instead of dead-lettering a 607 (by design), which would change what this test
# sees if the wall clock were that close to midnight there.
NOON_US_CENTRAL = datetime(2026, 6, 15, 17, 0, tzinfo=UTC)


async def test_crossings_act_in_marketo_once_each_through_every_error_code(
    kafka_bootstrap: str, fake_marketo: tuple[FakeMarketo, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kwdefaults = Limiter.__init__.__kwdefaults__
    assert kwdefaults is not None
    assert "now" in kwdefaults
    monkeypatch.setitem(kwdefaults, "now", lambda: NOON_US_CENTRAL)
    fake, base = fake_marketo
    prefix = unique("actions")
    topics = input_topics(prefix)
    settings = worker_settings("scoring", kafka_bootstrap, prefix, doc=scoring_doc(base))
    # up (4 forms: 40), wavering (an unsubscribe: 15, above down_at), down (another: -10), up
    wave = [lead(2, "301", at_s=T0 + i) for i in range(4)]
    wave += [lead(9, "301", at_s=T0 + 100), lead(9, "301", at_s=T0 + 200)]
    wave += [lead(2, "301", at_s=T0 + 300 + i) for i in range(5)]
    fake.failures = ["601", "602", "606", "615"]  # the first four calls, once each
    async with publisher(kafka_bootstrap, topics) as pub, running(settings):
        for event in wave:  # one at a time: several flushes, several rounds of calls
            await publish(pub, topics, [event])
            await asyncio.sleep(0.2)
        await until(lambda: len(fake.requests) == 2 and fake.lists.get(1001) == {301})
        await asyncio.sleep(1.0)  # nothing more may come
        crossings = await values(kafka_bootstrap, f"{prefix}.score-crossings")
        assert [c["direction"] for c in crossings] == ["up", "down", "up"]
        assert fake.failures == []  # every scripted error was met
        assert [(c, leads) for c, leads, _ in fake.requests] == [(77, [301]), (77, [301])]
        # the score as the token: decay leaves 3 forms a hair under 30, so the 4th crosses
        assert [t["{{my.leadScore}}"] for _, _, t in fake.requests] == ["40", "40"]
        assert fake.programs == {2001: {301: "Nurture.Member"}}
        statuses = [c[1]["status"] for c in fake.calls if c[0] == "status"]
        assert statuses[-3:] == ["Nurture.Member", "Nurture.Paused", "Nurture.Member"]
        assert round(fake.fields[301]["datastreamsScore"]) == 40
        # 607: the quota is spent; every call of the next crossing is dead-lettered at once
        fake.failures = ["607"] * 4  # whichever call reaches Marketo first is refused
        await publish(pub, topics, [lead(2, "302", at_s=T0 + i) for i in range(4)])
        found: list[dict[str, Any]] = []
        async with asyncio.timeout(60):
            while len(found) < 4:  # campaign, program, list, field
                found = await values(kafka_bootstrap, f"{prefix}.sink-dead-letter")
                await asyncio.sleep(0.2)
    assert sorted(letter["leadId"] for letter in found) == ["302"] * 4
    assert len(fake.requests) == 2
    fake.failures = []  # midnight passed: the quota is back
    report = await redrive_effects(settings)
    assert (report.matched, report.redriven, report.failed_again) == (4, 4, {})
    assert [(c, leads) for c, leads, _ in fake.requests][-1] == (77, [302])
    assert fake.lists[1001] == {301, 302}
    again = await redrive_effects(settings)
    assert (again.already_redriven, again.redriven) == (4, 0)
    assert len(fake.requests) == 3
