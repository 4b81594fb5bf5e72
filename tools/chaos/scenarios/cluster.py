"""A three-broker KRaft cluster on loopback (replication factor 3, min.insync.replicas 2): one
broker is SIGKILLed under load; no acknowledged event is lost and the ingress keeps serving.
Recovered: the first 2xx to a delivery sent after the kill (leadership moves in about
``broker.session.timeout.ms``, 3 s)."""

import time

from tools.chaos.kafka import Cluster
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.common import (
    Context,
    load_details,
    load_problems,
    sent,
    start_rig,
)

NAME = "3-broker cluster, kill 1"
NODES = 3
ACCEPTABLE = {"200", "503"}  # 503: a delivery whose partition leader was being moved


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    starting_at = time.monotonic()
    cluster = await Cluster.start(ctx.folder("cluster") / "nodes", NODES, ctx.libs_dir)
    started_s = round(time.monotonic() - starting_at, 1)
    try:
        rig = await start_rig(
            ctx, "cluster", cluster.bootstrap, replication_factor=NODES, min_insync_replicas=2
        )
        try:
            await rig.load.until(s.fault_at_s)
            killed_at = time.monotonic()
            await cluster.kill(0)
            simulation = await rig.load.finish()
            ended_at = time.monotonic()
        finally:
            await rig.close()  # flushed before the cluster goes
        verifying_at = time.monotonic()
        tally, _ = await rig.verify()
        verify_s = round(time.monotonic() - verifying_at, 1)
    finally:
        await cluster.stop()
    problems = load_problems(simulation)
    after = rig.load.statuses(killed_at, ended_at)
    if not after.get("200"):
        problems.append("the ingress answered no 2xx after the broker died")
    odd = {k: v for k, v in after.items() if k not in ACCEPTABLE}
    if odd:
        problems.append(f"answers other than 200/503 after the kill: {odd}")
    details = {
        **load_details(simulation),
        "answers_after_kill": dict(after),
        "cluster_start_s": started_s,
        "verify_s": verify_s,
    }
    return result(
        NAME,
        sent(simulation),
        tally,
        rig.load.first_ok_after(killed_at),
        "SIGKILL of one broker -> first 2xx to a delivery sent after it",
        problems,
        details,
        rig.load.errors(),
    )
