"""The broker behind every replica stops under load and starts again ``outage_s`` later.

Every replica's /readyz turns 503, so the balancer marks them all down and answers 503 itself
(``<NOSRV>`` in its log) without waiting; before that the replicas answer 503 within their
publish bound. No answer may take Adobe's 10 s. When the broker is back every replica turns
ready by itself, the balancer has them up again, the simulator's retries deliver what was
refused, and the workers carry on. Recovered: broker back -> first 2xx through the balancer.
"""

import asyncio
import time

from tools.chaos.haproxy import SERVERS
from tools.chaos.kafka import SingleBroker
from tools.chaos.load import ADOBE_TIMEOUT_S
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.balancer.fleet import MARK_TIMEOUT_S, Fleet, start_fleet
from tools.chaos.scenarios.common import Context, sent

NAME = "LB broker restart"
NOTICE_S = 10.0  # how soon every /readyz must turn 503 (they re-check Kafka every 0.5 s)
SLACK_S = 2.0  # over the publish bound, for a loaded 2-core machine
ALLOWED = {"503"}  # while the broker is away
# The upstreams' retries must outlast the broker's restart, which takes from seconds to half a
# minute on a loaded 2-core machine; the drain ends as soon as nothing is left.
DRAIN_S = 120.0


async def _all_not_ready(fleet: Fleet) -> bool:
    seen = await asyncio.gather(*(r.wait_status("/readyz", 503, NOTICE_S) for r in fleet.replicas))
    return all(seen)


def _balancer_refusals(fleet: Fleet) -> int:
    """Deliveries HAProxy answered itself because no replica was up."""
    text = fleet.balancer.log.read_text("utf-8", "replace")
    return sum(1 for line in text.splitlines() if "ingress/<NOSRV>" in line and " 503 " in line)


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    broker = SingleBroker.on_free_ports(ctx.folder("lb-broker") / "kafka", ctx.libs_dir)
    await broker.start()
    try:
        fleet = await start_fleet(ctx, "lb-broker", broker.bootstrap, drain_s=DRAIN_S)
        try:
            await fleet.load.until(s.fault_at_s)
            await broker.stop()
            down_at = time.monotonic()
            not_ready = await _all_not_ready(fleet)
            all_down = await fleet.balancer.wait_state(SERVERS, "DOWN", down_at, MARK_TIMEOUT_S)
            await asyncio.sleep(max(0.0, down_at + s.outage_s - time.monotonic()))
            restarting_at = time.monotonic()
            await broker.start()  # returns once the broker answers an admin call
            back_at = time.monotonic()
            all_up = await fleet.balancer.wait_state(SERVERS, "UP", back_at, 60.0)
            done = await fleet.finish()
        finally:
            await fleet.close()
        tally, problems, details = await fleet.verify(done)
    finally:
        await broker.stop()
    while_down = dict(fleet.load.statuses(down_at, restarting_at))
    slowest = fleet.load.slowest_answer_s(down_at, restarting_at)
    if not not_ready:
        problems.append(f"not every /readyz turned 503 within {NOTICE_S:g} s of the stop")
    if all_down is None:
        problems.append(f"the balancer did not mark every replica down in {MARK_TIMEOUT_S:g} s")
    if all_up is None:
        problems.append("the balancer did not have every replica up within 60 s of the broker")
    if slowest > min(s.publish_timeout_s + SLACK_S, ADOBE_TIMEOUT_S):
        problems.append(f"an answer took {slowest:.1f} s while the broker was away")
    odd = {k: v for k, v in while_down.items() if k not in ALLOWED and not k.startswith("2")}
    if odd:
        problems.append(f"answers other than 2xx/503 while the broker was away: {odd}")
    details |= {
        "all_down_after_s": all_down,
        "down_s": round(restarting_at - down_at, 2),
        "broker_start_s": round(back_at - restarting_at, 2),
        "answers_while_down": while_down,
        "slowest_answer_while_down_s": round(slowest, 2),
        "answered_503_by_the_balancer": _balancer_refusals(fleet),
        "all_up_after_s": all_up,
    }
    return result(
        NAME,
        sent(done.simulation),
        tally,
        fleet.load.first_ok_after(back_at),
        "broker back -> first 2xx to a delivery sent through the balancer after it",
        problems,
        details,
        fleet.load.errors(),
    )
