"""A replica SIGKILLed behind HAProxy with deliveries in flight, then started again (as an
orchestrator would).

Its checks fail at once (connection refused), so the balancer marks it down after two of them
(``inter 1s fall 2``); until then a delivery routed to it cannot connect and HAProxy sends it to
another replica itself. The deliveries the kill cut get 502 (or no answer) and the upstream
sends them again: their events may be on the topic twice, and must be handled once downstream.
Recovered: SIGKILL -> the balancer has marked the replica down.
"""

import time

from tools.chaos.haproxy import SERVERS
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.balancer.fleet import MARK_TIMEOUT_S, start_fleet
from tools.chaos.scenarios.common import Context, sent, since

NAME = "LB replica SIGKILL"
VICTIM = 0
# fall x inter of the shipped checks, plus one interval for a check already under way
MARKED_DOWN_BOUND_S = 3.0


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    server = SERVERS[VICTIM]
    fleet = await start_fleet(ctx, "lb-sigkill", ctx.bootstrap)
    try:
        await fleet.load.until(s.fault_at_s)
        mid_delivery = await fleet.load.wait_in_flight()
        replica = fleet.replicas[VICTIM]
        child = replica.running()
        killed_at = time.monotonic()
        child.kill()
        code = await child.wait()
        down = await fleet.balancer.wait_state([server], "DOWN", killed_at, MARK_TIMEOUT_S)
        await replica.start()
        restarted_s = since(killed_at)
        up = await fleet.balancer.wait_state([server], "UP", killed_at, MARK_TIMEOUT_S)
        done = await fleet.finish()
    finally:
        await fleet.close()
    tally, problems, details = await fleet.verify(done)
    if down is None or down > MARKED_DOWN_BOUND_S:
        problems.append(f"marked down {down} s after the kill (bound {MARKED_DOWN_BOUND_S:g} s)")
    if up is None:
        problems.append(f"the restarted replica was not back within {MARK_TIMEOUT_S:g} s")
    if not mid_delivery:
        problems.append("no delivery was in flight at the kill")
    details |= {
        "exit_code": code,
        "marked_down_s": down,
        "restarted_ready_s": restarted_s,
        "back_up_s": up,
        "in_flight_at_kill_failed": fleet.load.failed_in_flight(killed_at),
        "answers_after_kill": dict(fleet.load.statuses(killed_at)),
    }
    return result(
        NAME,
        sent(done.simulation),
        tally,
        down,
        "SIGKILL -> the balancer has marked the replica down",
        problems,
        details,
        fleet.load.errors(),
    )
