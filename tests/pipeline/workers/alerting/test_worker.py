"""The alerting worker on the real broker: default rules, duplicates, restarts, sinks."""

import asyncio
import time
from typing import Any

from tests.pipeline.events import MUNCHKIN, OTHER, T0, lead
from tests.pipeline.workers.alerting.scenarios import default_rule_scenarios
from tests.pipeline.workers.fakes import FakeMarketo, FakeWebhook, marketo_table
from tests.pipeline.workers.harness import (
    input_topics,
    outbound,
    publish,
    publisher,
    running,
    unique,
    until,
    values,
    wait_for_values,
    worker_settings,
)


def alerting_doc(webhook: str, marketo: str) -> dict[str, Any]:
    return {
        "alerting": {"webhook_url": webhook, "log_alerts": True},
        "marketo": [marketo_table(marketo, lists={"followup": 1001})],
    }


async def test_default_rules_fire_once_each_with_duplicates_and_reach_every_sink(
    kafka_bootstrap: str,
    fake_webhook: tuple[FakeWebhook, str],
    fake_marketo: tuple[FakeMarketo, str],
) -> None:
    prefix = unique("alerts")
    topics = input_topics(prefix)
    scenarios = default_rule_scenarios()
    events = [e for s in scenarios for e in s.events]
    expected = set().union(*(s.fires for s in scenarios))
    settings = worker_settings(
        "alerting", kafka_bootstrap, prefix, doc=alerting_doc(fake_webhook[1], fake_marketo[1])
    )
    async with publisher(kafka_bootstrap, topics) as pub:
        # every event twice, the first scenario's three times: upstream re-sends
        await publish(pub, topics, events + events + scenarios[0].events)
        async with running(settings) as worker:
            await worker.wait_seen(2 * len(events) + len(scenarios[0].events))
            alerts = await wait_for_values(
                kafka_bootstrap, f"{prefix}.alerts", lambda found: len(found) >= len(expected)
            )
            await until(  # the effects role reads the alerts back
                lambda: (
                    len(fake_webhook[0].bodies) == len(expected)
                    and len(fake_marketo[0].lists.get(1001, ())) == 2
                )
            )
            await asyncio.sleep(0.5)  # nothing more may come
            alerts = await values(kafka_bootstrap, f"{prefix}.alerts")
    assert {(a["rule"], a["key"]) for a in alerts} == expected
    assert len(alerts) == len(expected)
    burst = next(a for a in alerts if a["rule"] == "failed-login-burst")
    assert burst["severity"] == "critical"
    assert burst["count"] == 5
    assert len(burst["evidence"]) == 5
    assert burst["firstSeen"] == "2026-03-02T08:55:00Z"
    assert burst["lastSeen"] == "2026-03-02T08:59:00Z"
    # sinks: one Slack message per alert, the two inconsistent leads added to the list
    assert sorted(
        b["attachments"][0]["footer"].split()[-1] for b in fake_webhook[0].bodies
    ) == sorted(a["id"] for a in alerts)
    assert fake_marketo[0].lists == {1001: {101, 104}}
    assert worker.count("duplicate") == len(events) + len(scenarios[0].events)


async def test_restarts_restore_rule_state_and_never_fire_an_alert_twice(
    kafka_bootstrap: str,
) -> None:
    prefix = unique("restart")
    topics = input_topics(prefix)
    alerts_topic = f"{prefix}.alerts"
    unsubscribed, emailed = lead(9, "201", at_s=T0), lead(6, "201", at_s=T0 + 60)
    bounced, delivered = lead(8, "202", at_s=T0), lead(7, "202", at_s=T0 + 60)
    async with publisher(kafka_bootstrap, topics) as pub:
        await publish(pub, topics, [unsubscribed, bounced, delivered])
        async with running(worker_settings("alerting", kafka_bootstrap, prefix)) as worker:
            await worker.wait_seen(3)
            [first] = await wait_for_values(kafka_bootstrap, alerts_topic, lambda f: len(f) >= 1)
        assert first["rule"] == "bounced-then-delivered"
        # After a restart, the unsubscribe is remembered from the replay: the email fires.
        await publish(pub, topics, [emailed, delivered])
        async with running(worker_settings("alerting", kafka_bootstrap, prefix)) as worker:
            await worker.wait_seen(2)
            found = await wait_for_values(kafka_bootstrap, alerts_topic, lambda f: len(f) >= 2)
        assert [a["rule"] for a in found] == ["bounced-then-delivered", "unsubscribed-then-emailed"]
        # A new group handles everything again (as after losing every commit): nothing fires.
        fresh = worker_settings("alerting", kafka_bootstrap, prefix, group=unique("fresh"))
        async with running(fresh) as worker:
            await worker.wait_seen(5)
            await asyncio.sleep(0.5)
            suppressed = worker.loop._handler._metrics.alerts_suppressed  # type: ignore[attr-defined]
        assert len(await values(kafka_bootstrap, alerts_topic)) == 2
        total = sum(
            suppressed.labels(r)._value.get()
            for r in ("bounced-then-delivered", "unsubscribed-then-emailed")
        )
        assert total == 2


async def test_a_silent_tenant_alerts_once_per_silence(kafka_bootstrap: str) -> None:
    prefix = unique("silence")
    topics = input_topics(prefix)
    skew = [0.0]
    now = time.time()
    async with publisher(kafka_bootstrap, topics) as pub:
        await pub.publish(
            [
                outbound(lead(10, "1", munchkin=MUNCHKIN), topics, timestamp_ms=int(now * 1000)),
                # the other tenant's record is 31 minutes newer: it is not silent then
                outbound(
                    lead(10, "2", munchkin=OTHER), topics, timestamp_ms=int((now + 1860) * 1000)
                ),
            ]
        )
        settings = worker_settings("alerting", kafka_bootstrap, prefix)
        async with running(settings, clock=lambda: time.time() + skew[0]) as worker:
            await worker.wait_seen(2)
            assert await values(kafka_bootstrap, f"{prefix}.alerts") == []
            skew[0] = 31 * 60.0  # half an hour passes
            [alert] = await wait_for_values(
                kafka_bootstrap, f"{prefix}.alerts", lambda f: len(f) >= 1
            )
            await asyncio.sleep(1.0)  # several ticks
            assert len(await values(kafka_bootstrap, f"{prefix}.alerts")) == 1
    assert (alert["rule"], alert["key"], alert["severity"]) == (
        "tenant-silent",
        MUNCHKIN,
        "warning",
    )
    assert alert["summary"] == f"No events from {MUNCHKIN} for 31 minutes"
