"""A tenant whose events arrive hours behind another's, in the same partition, on the real
broker: it fires exactly the alerts a replay of the same records fires, and its cooldowns hold.

Tenant B is 3 h of event time behind tenant A (as after a backlog Adobe retried). Records arrive
in rounds with ticks between them, so the worker sweeps its rule state while B's windows are
still open; a per-partition watermark (A's newest event) swept them, and B's alerts never fired.
"""

import asyncio
from pathlib import Path

from tests.pipeline.events import MUNCHKIN, OTHER
from tests.pipeline.workers.alerting.test_rules import ENGAGED, lagging_tenants
from tests.pipeline.workers.harness import (
    input_topics,
    publish,
    publisher,
    read_topic,
    running,
    unique,
    values,
    worker_settings,
)
from tools.chaos.effects import reference_alerts
from tools.chaos.verify import Records

PER_ROUND = 3


async def test_a_lagging_tenant_alerts_as_a_replay_does(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    (tmp_path / "rules.toml").write_text(ENGAGED)
    prefix = unique("lagging")
    topics = input_topics(prefix, partitions=1)  # both tenants in the one partition
    settings = worker_settings(
        "alerting",
        kafka_bootstrap,
        prefix,
        partitions=1,
        # No lateness allowed: only the per-tenant watermark keeps B's windows and cooldowns
        # (the default allowance, 25 h, would hide a 3-hour lag).
        doc={
            "alerting": {
                "rules_file": "rules.toml",
                "log_alerts": False,
                "allowed_lateness_hours": 0,
            }
        },
        base=tmp_path,
    )
    events = lagging_tenants()
    async with publisher(kafka_bootstrap, topics) as pub, running(settings) as worker:
        seen = 0
        for batch in [events[i : i + PER_ROUND] for i in range(0, len(events), PER_ROUND)]:
            await publish(pub, topics, batch)
            seen += len(batch)
            await worker.wait_seen(seen)
            await asyncio.sleep(0.3)  # ticks (every 0.2 s) sweep between the rounds
        alerts = await values(kafka_bootstrap, f"{prefix}.alerts")
    expected = [f"{MUNCHKIN}:a{n}" for n in range(3)] + [f"{OTHER}:b{n}" for n in range(3)]
    assert sorted(a["key"] for a in alerts) == expected  # b0's second burst: in its cooldown
    # the replay: the same handler fed the same records in order, never swept
    inputs: dict[str, Records] = {
        topics.lead_activity.name: await read_topic(kafka_bootstrap, topics.lead_activity.name)
    }
    assert {a["id"] for a in alerts} == await reference_alerts(settings, inputs)
