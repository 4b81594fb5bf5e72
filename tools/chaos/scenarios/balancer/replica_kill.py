"""A replica SIGKILLed behind HAProxy with deliveries in flight, then started again (as an
orchestrator would).

Its checks fail at once (connection refused), so the balancer marks it down after two of them
(``inter 1s fall 2``); until then a delivery routed to it cannot connect and HAProxy sends it to
another replica itself. The deliveries the kill cut get 502 (or no answer) and the upstream
sends them again: their events may be on the topic twice, and must be handled once downstream.
Recovered: SIGKILL -> the balancer has marked the replica down.
"""

from typing import Any

from tools.chaos.ingress import IngressProcess
from tools.chaos.report import ScenarioResult
from tools.chaos.scenarios.balancer import one_replica
from tools.chaos.scenarios.common import Context


async def _kill(replica: IngressProcess) -> dict[str, Any]:
    child = replica.running()
    child.kill()
    return {"exit_code": await child.wait()}


async def _restart(replica: IngressProcess, _struck_at: float) -> dict[str, Any]:
    await replica.start()
    return {}


# fall x inter of the shipped checks, plus one interval for a check already under way
MARKED_DOWN_BOUND_S = 3.0
KILL = one_replica.ReplicaFault(
    name="LB replica SIGKILL",
    folder="lb-sigkill",
    verb="SIGKILL",
    bound_s=MARKED_DOWN_BOUND_S,
    strike=_kill,
    recover=_restart,
)


async def run(ctx: Context) -> ScenarioResult:
    return await one_replica.run(ctx, KILL)
