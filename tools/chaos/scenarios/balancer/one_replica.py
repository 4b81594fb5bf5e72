"""A fault to one replica behind the balancer, under load: what the SIGKILL and SIGSTOP
scenarios share. The fault strikes with a delivery in flight; the balancer must mark the
replica down within ``bound_s``, and have it back once it recovers (restarted, resumed).
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tools.chaos.haproxy import SERVERS
from tools.chaos.ingress import IngressProcess
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.balancer.fleet import MARK_TIMEOUT_S, Fleet, start_fleet
from tools.chaos.scenarios.common import Context, sent, since

VICTIM = 0
# Each fault gets the replica and when it struck, and returns details for the report.
Act = Callable[[IngressProcess, float], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ReplicaFault:
    name: str  # the row
    folder: str
    verb: str  # in problems: "the kill", "SIGSTOP"
    bound_s: float  # the most the balancer may take to mark the replica down
    strike: Callable[[IngressProcess], Awaitable[dict[str, Any]]]
    recover: Act  # runs even when waiting for the balancer failed


async def _hit(fleet: Fleet, fault: ReplicaFault) -> tuple[float, dict[str, Any]]:
    """Strike, wait for the balancer to mark the replica down, recover, wait for it to be
    back: the details, with ``marked_down_s`` and ``back_up_s`` (None: not seen in time)."""
    server, replica = SERVERS[VICTIM], fleet.replicas[VICTIM]
    struck_at = time.monotonic()
    details = await fault.strike(replica)
    try:
        down = await fleet.balancer.wait_state([server], "DOWN", struck_at, MARK_TIMEOUT_S)
    finally:
        details |= await fault.recover(replica, struck_at)
    back_at = time.monotonic()
    up = await fleet.balancer.wait_state([server], "UP", back_at, MARK_TIMEOUT_S)
    details |= {"marked_down_s": down, "recovered_s": since(struck_at), "back_up_s": up}
    return struck_at, details


async def run(ctx: Context, fault: ReplicaFault) -> ScenarioResult:
    fleet = await start_fleet(ctx, fault.folder, ctx.bootstrap)
    try:
        await fleet.load.until(ctx.settings.fault_at_s)
        mid_delivery = await fleet.load.wait_in_flight()
        struck_at, hit = await _hit(fleet, fault)
        done = await fleet.finish()
    finally:
        await fleet.close()
    tally, problems, details = await fleet.verify(done)
    down = hit["marked_down_s"]
    if down is None or down > fault.bound_s:
        problems.append(f"marked down {down} s after {fault.verb} (bound {fault.bound_s:g} s)")
    if hit["back_up_s"] is None:
        problems.append(f"not back in the balancer within {MARK_TIMEOUT_S:g} s of recovering")
    if not mid_delivery:
        problems.append(f"no delivery was in flight at {fault.verb}")
    details |= hit | {"in_flight_at_fault_failed": fleet.load.failed_in_flight(struck_at)}
    return result(
        fault.name,
        sent(done.simulation),
        tally,
        down,
        f"{fault.verb} -> the balancer has marked the replica down",
        problems,
        details,
        fleet.load.errors(),
    )
