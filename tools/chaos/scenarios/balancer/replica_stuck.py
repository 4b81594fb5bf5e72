"""A replica stuck behind HAProxy: SIGSTOP with deliveries in flight, for longer than the
balancer's 9 s server timeout, then SIGCONT.

The kernel still accepts connections for the stopped process, so its checks time out rather
than fail (``timeout check 2s``): it is marked down after two of them. Until then ``leastconn``
sends it little, as it holds its connections. What it held is answered 504 by the balancer at
9 s, before Adobe's 10 s, and the upstream sends it again; when the replica resumes it finishes
those deliveries to closed connections, so their events may be on the topic twice, and must be
handled once downstream. Recovered: SIGSTOP -> the balancer has marked the replica down.
"""

import asyncio
import os
import signal
import time

from tools.chaos.haproxy import SERVERS
from tools.chaos.load import ADOBE_TIMEOUT_S
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.balancer.fleet import MARK_TIMEOUT_S, start_fleet
from tools.chaos.scenarios.common import Context, sent, since

NAME = "LB replica stuck (SIGSTOP)"
VICTIM = 0
# two checks that each time out: a check interval, then connect and the 2 s check timeout,
# twice over, plus an interval of slack
MARKED_DOWN_BOUND_S = 7.0


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    server = SERVERS[VICTIM]
    fleet = await start_fleet(ctx, "lb-stuck", ctx.bootstrap)
    try:
        await fleet.load.until(s.fault_at_s)
        mid_delivery = await fleet.load.wait_in_flight()
        pid = fleet.replicas[VICTIM].running().pid
        stopped_at = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            down = await fleet.balancer.wait_state([server], "DOWN", stopped_at, MARK_TIMEOUT_S)
            await asyncio.sleep(max(0.0, stopped_at + s.lb_stuck_s - time.monotonic()))
        finally:
            os.kill(pid, signal.SIGCONT)  # also on failure: a stopped child ignores SIGTERM
        resumed_at = time.monotonic()
        stuck_s = since(stopped_at)
        up = await fleet.balancer.wait_state([server], "UP", resumed_at, MARK_TIMEOUT_S)
        done = await fleet.finish()
    finally:
        await fleet.close()
    tally, problems, details = await fleet.verify(done)
    if down is None or down > MARKED_DOWN_BOUND_S:
        problems.append(f"marked down {down} s after SIGSTOP (bound {MARKED_DOWN_BOUND_S:g} s)")
    if up is None:
        problems.append(f"not back in the balancer within {MARK_TIMEOUT_S:g} s of SIGCONT")
    slowest = fleet.load.slowest_answer_s()
    if slowest >= ADOBE_TIMEOUT_S:
        problems.append(f"a delivery waited {slowest:.1f} s: Adobe gives up at 10 s")
    if not mid_delivery:
        problems.append("no delivery was in flight at SIGSTOP")
    details |= {
        "stuck_s": stuck_s,
        "marked_down_s": down,
        "back_up_after_sigcont_s": up,
        "in_flight_at_sigstop_failed": fleet.load.failed_in_flight(stopped_at),
        "answers_while_stuck": dict(fleet.load.statuses(stopped_at, resumed_at)),
    }
    return result(
        NAME,
        sent(done.simulation),
        tally,
        down,
        "SIGSTOP -> the balancer has marked the replica down",
        problems,
        details,
        fleet.load.errors(),
    )
