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
from typing import Any

from tools.chaos.ingress import IngressProcess
from tools.chaos.report import ScenarioResult
from tools.chaos.scenarios.balancer import one_replica
from tools.chaos.scenarios.common import Context


async def _stop(replica: IngressProcess) -> dict[str, Any]:
    os.kill(replica.running().pid, signal.SIGSTOP)
    return {}


def _resume_after(stuck_s: float) -> one_replica.Act:
    async def resume(replica: IngressProcess, struck_at: float) -> dict[str, Any]:
        await asyncio.sleep(max(0.0, struck_at + stuck_s - time.monotonic()))
        os.kill(replica.running().pid, signal.SIGCONT)
        return {"stuck_s": round(time.monotonic() - struck_at, 2)}

    return resume


# two checks that each time out (connect, then the 2 s check timeout) a check interval apart,
# after up to one interval before the first: 6 s, plus one interval of slack
MARKED_DOWN_BOUND_S = 7.0


async def run(ctx: Context) -> ScenarioResult:
    stuck = one_replica.ReplicaFault(
        name="LB replica stuck (SIGSTOP)",
        folder="lb-stuck",
        verb="SIGSTOP",
        bound_s=MARKED_DOWN_BOUND_S,
        strike=_stop,
        recover=_resume_after(ctx.settings.lb_stuck_s),
    )
    return await one_replica.run(ctx, stuck)
