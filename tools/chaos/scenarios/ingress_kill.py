"""Ingress SIGKILL mid-delivery, restarted on the same port (as an orchestrator would).

Deliveries in flight get no answer and are re-sent by the simulator on its schedule; deliveries
whose records reached Kafka before the kill show up as duplicates on the topic, never as a loss.
Recovered: the first 2xx to a delivery sent after the kill.
"""

import time

from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.common import (
    Context,
    load_details,
    load_problems,
    sent,
    since,
    start_rig,
)

NAME = "ingress SIGKILL"


async def run(ctx: Context) -> ScenarioResult:
    rig = await start_rig(ctx, "ingress-sigkill", ctx.bootstrap)
    try:
        await rig.load.until(ctx.settings.fault_at_s)
        mid_delivery = await rig.load.wait_in_flight()
        killed_at = time.monotonic()
        child = rig.ingress.running()
        child.kill()
        code = await child.wait()
        await rig.ingress.start()
        restart_s = since(killed_at)
        simulation = await rig.load.finish()
    finally:
        await rig.close()
    tally, _ = await rig.verify()
    problems = load_problems(simulation)
    if not mid_delivery:
        problems.append("no delivery was in flight at the kill")
    details = {
        **load_details(simulation),
        "exit_code": code,
        "restarted_ready_s": restart_s,
        "deliveries_cut_by_the_kill": rig.load.cut(killed_at),
    }
    return result(
        NAME,
        sent(simulation),
        tally,
        rig.load.first_ok_after(killed_at),
        "SIGKILL -> first 2xx to a delivery sent after it (restart included)",
        problems,
        details,
        rig.load.errors(),
    )
