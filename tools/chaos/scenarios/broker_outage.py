"""Broker outage: the only broker stops under load and comes back ``outage_s`` later.

While it is away the ingress answers 503 within its publish bound (never hangs), ``/readyz`` is
503 and ``datastreams_kafka_ready`` is 0; when it is back the ingress recovers by itself and the
simulator's retries deliver what was refused. Recovered: the first 2xx to a delivery sent after
the broker answered again.
"""

import asyncio
import re
import time

from tools.chaos.kafka import SingleBroker
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.common import (
    Context,
    Rig,
    load_details,
    load_problems,
    sent,
    since,
    start_rig,
)

NAME = "broker outage"
NOTICE_S = 10.0  # how soon /readyz must notice (health checks every 0.5 s)
SLACK_S = 2.0  # over the publish bound, for a loaded 2-core machine


REJECTED = re.compile(r'^datastreams_events_total\{outcome="rejected",[^}]*\} (\S+)$', re.M)


async def _metrics_say_so(rig: Rig) -> list[str]:
    """At the end of the outage: Kafka not ready, and the refused events counted."""
    problems = []
    _, metrics = await rig.ingress.get("/metrics")
    if "datastreams_kafka_ready 0.0" not in metrics:
        problems.append("datastreams_kafka_ready is not 0 during the outage")
    if not sum(float(v) for v in REJECTED.findall(metrics)):
        problems.append("no rejected events counted during the outage")
    return problems


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    broker = SingleBroker.on_free_ports(ctx.folder("broker-outage") / "kafka", ctx.libs_dir)
    await broker.start()
    try:
        rig = await start_rig(ctx, "broker-outage", broker.bootstrap)
        try:
            await rig.load.until(s.fault_at_s)
            stopping_at = time.monotonic()
            await broker.stop()
            down_at = time.monotonic()
            problems = []
            if not await rig.ingress.wait_status("/readyz", 503, NOTICE_S):
                problems.append(f"/readyz did not turn 503 within {NOTICE_S:g} s of the outage")
            await asyncio.sleep(max(0.0, down_at + s.outage_s - time.monotonic()))
            problems += await _metrics_say_so(rig)
            restarting_at = time.monotonic()
            await broker.start()  # returns once the broker answers an admin call
            back_at = time.monotonic()
            ready_again = await rig.ingress.wait_status("/readyz", 200, 60)
            ready_s = since(back_at)
            simulation = await rig.load.finish()
        finally:
            await rig.close()
        tally, _ = await rig.verify()
    finally:
        await broker.stop()
    problems += load_problems(simulation)
    slowest = rig.load.slowest_refusal_s(down_at, restarting_at)
    if slowest > s.publish_timeout_s + SLACK_S:
        problems.append(f"a refusal took {slowest:.1f} s (bound {s.publish_timeout_s:g} s)")
    if not ready_again:
        problems.append("/readyz did not return to 200 within 60 s of the broker's return")
    details = {
        **load_details(simulation),
        "broker_stop_s": round(down_at - stopping_at, 2),
        "down_s": round(restarting_at - down_at, 2),
        "broker_start_s": round(back_at - restarting_at, 2),
        "answers_while_down": dict(rig.load.statuses(down_at, restarting_at)),
        # the ingress reconnects while the JVM finishes starting: 2xx may come before back_at
        "answers_while_restarting": dict(rig.load.statuses(restarting_at, back_at)),
        "slowest_refusal_s": round(slowest, 2),
        "readyz_200_after_s": ready_s,
    }
    return result(
        NAME,
        sent(simulation),
        tally,
        rig.load.first_ok_after(back_at),
        "broker back -> first 2xx to a delivery sent after it",
        problems,
        details,
        rig.load.errors(),
    )
