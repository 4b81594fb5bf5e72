"""End to end: deliveries → ingress → topics → alerting and scoring workers → alerts and scores.

The freshness the issue asks for is "within about two seconds"; the bound asserted here is a
generous 10 s (shared CI machines), and the measured figures are printed (`pytest -s`).
"""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from pipeline.envelope import format_time
from tests.pipeline.workers.harness import (
    latest_by_key,
    read_topic,
    running,
    values,
    worker_settings,
)
from tests.support import payloads as p
from tests.support.ingress import IngressFactory

BOUND_S = 10.0


def now_iso() -> str:
    return format_time(datetime.now(UTC))


def at_now(event: dict[str, Any]) -> dict[str, Any]:
    body = event["event"]["body"] if "event" in event else event
    body["time"] = now_iso()
    return event


async def until(check: Any, timeout_s: float = BOUND_S) -> float:
    """Seconds until ``check()`` is true (polling the topics)."""
    started = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        while True:
            if await check():
                return time.perf_counter() - started
            await asyncio.sleep(0.05)


async def test_deliveries_become_alerts_and_scores_within_seconds(
    make_ingress: IngressFactory, kafka_bootstrap: str
) -> None:
    ingress = await make_ingress()
    prefix = ingress.topics.lead_activity.name.rsplit(".", 1)[0]
    alerts_topic, scores_topic = f"{prefix}.alerts", f"{prefix}.lead-scores"
    alerting = worker_settings("alerting", kafka_bootstrap, prefix)
    scoring = worker_settings("scoring", kafka_bootstrap, prefix)
    async with running(alerting) as alerting_worker, running(scoring) as scoring_worker:
        logins = [at_now(p.wrapped(p.audit_body("Login", "login failure"))) for _ in range(5)]
        form = p.lads_data(type_id=2, name="Fill Out Form", lead="770001")
        batch = [
            at_now(p.wrapped(p.notification_body("campaign_abort"))),
            *logins,
            at_now(p.lads_event("standard.filloutform", data=form)),
        ]
        posted = time.perf_counter()
        response = await ingress.post_adobe(batch)
        assert response.status == 200
        assert (await response.json())["accepted"] == 7

        async def alerts_ready() -> bool:
            found = {a["rule"] for a in await values(kafka_bootstrap, alerts_topic)}
            return {"campaign-aborted", "failed-login-burst"} <= found

        async def score_ready() -> bool:
            table = latest_by_key(await read_topic(kafka_bootstrap, scores_topic))
            return table.get(f"{p.MUNCHKIN}:770001", {}).get("score") == 10.0

        await until(alerts_ready)
        alert_s = time.perf_counter() - posted
        await until(score_ready)
        score_s = time.perf_counter() - posted

        # the legacy direct push: an unsubscribed lead is sent an email
        push = p.direct_push(
            [
                p.activity(type_id=9, name="Unsubscribe Email", lead=770002),
                p.activity(type_id=6, name="Send Email", lead=770002),
            ]
        )
        assert (await ingress.post_push(push)).status == 200

        async def inconsistency() -> bool:
            return any(
                a["rule"] == "unsubscribed-then-emailed"
                for a in await values(kafka_bootstrap, alerts_topic)
            )

        await until(inconsistency)
        await alerting_worker.wait_seen(9)
        await scoring_worker.wait_seen(3)
    alerts = await values(kafka_bootstrap, alerts_topic)
    assert sorted(a["rule"] for a in alerts) == [
        "campaign-aborted",
        "failed-login-burst",
        "unsubscribed-then-emailed",
    ]
    print(f"\nend-to-end (POST → on the topic): alerts {alert_s:.2f} s, score {score_s:.2f} s")
    assert alert_s < BOUND_S
    assert score_s < BOUND_S
