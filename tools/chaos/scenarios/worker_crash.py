"""Worker crash and rebalance: two replicas of each worker (alerting, scoring) share their
group; under load one replica of each is SIGKILLed, the other takes its partitions over (after
the group's session timeout), then the killed one is started again (another rebalance).

Checked against an uninterrupted run of the same handlers over the same records
(``effects.py``): no alert missing or fired twice, every activity counted once, every lead's
score identical, and every alert's signed webhook at an idempotent receiver (``hook.py``) at
least once (the alerting replicas' effects roles are killed with them). Recovered: the
survivors own every partition.
"""

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from pipeline.reader import read_all
from pipeline.settings import KafkaSettings
from pipeline.workers.settings import WorkerSettings, load_worker_settings
from tools.chaos.effects import (
    Effects,
    alert_effects,
    reference_alerts,
    reference_scores,
    score_effects,
    webhook_effects,
)
from tools.chaos.hook import Hook, new_secret
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.common import Context, load_details, load_problems, sent, start_rig
from tools.chaos.verify import Records, Tally, header
from tools.chaos.workers import (
    INPUTS,
    Replica,
    WorkerSpec,
    wait_caught_up,
    wait_owned,
    write_config,
)

NAME = "worker crash + rebalance"
KINDS = ("alerting", "scoring")
TAKEOVER_TIMEOUT_S = 60.0
CATCH_UP_TIMEOUT_S = 90.0


async def _effects(
    bootstrap: str, prefix: str, configs: dict[str, Path], topics: dict[str, Records], hook: Hook
) -> list[Effects]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    settings: dict[str, WorkerSettings] = {
        k: load_worker_settings(k, {"DATASTREAMS_WORKER_CONFIG": str(configs[k])}) for k in KINDS
    }
    inputs = {f"{prefix}.{short}": topics[short] for short in INPUTS["alerting"]}
    reference = await reference_alerts(settings["alerting"], inputs)
    alerts = alert_effects(reference, await read_all(kafka, f"{prefix}.alerts"))
    webhooks = webhook_effects(reference, hook.arrivals, hook.forged)
    leads = topics["lead-activity"]
    scores = score_effects(
        await reference_scores(settings["scoring"], leads, f"{prefix}.lead-activity"),
        await read_all(kafka, f"{prefix}.lead-scores"),
        len({header(r, "ce_id") for r in leads}),
    )
    return [alerts, webhooks, scores]


def _with_effects(tally: Tally, effects: list[Effects]) -> Tally:
    return replace(
        tally,
        duplicate_effects=tally.duplicate_effects + sum(e.duplicates for e in effects),
        lost_effects=tally.lost_effects + sum(e.lost for e in effects),
    )


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    ctx = replace(ctx, settings=replace(s, load_s=s.worker_load_s))
    rig = await start_rig(ctx, "worker-crash", ctx.bootstrap, start_load=False)
    secret = new_secret()
    hook = Hook(secret)
    url = await hook.start()
    specs = {
        k: WorkerSpec(k, ctx.bootstrap, rig.prefix, s.partitions, s.session_timeout_ms)
        for k in KINDS
    }
    specs["alerting"] = replace(specs["alerting"], webhook=url, signing_secret=secret)
    configs = {k: write_config(spec, rig.work) for k, spec in specs.items()}
    owned = {k: s.partitions * len(INPUTS[k]) for k in KINDS}
    first = {k: Replica(specs[k], 1, configs[k], ctx.env) for k in KINDS}
    second = {k: Replica(specs[k], 2, configs[k], ctx.env) for k in KINDS}
    again = {k: Replica(specs[k], 3, configs[k], ctx.env) for k in KINDS}
    problems: list[str] = []
    details: dict[str, object] = {}
    try:
        await asyncio.gather(*(r.start() for r in (*first.values(), *second.values())))
        rig.load.start()
        await rig.load.until(s.fault_at_s)
        held = {k: await r.assigned() for k, r in first.items()}
        killed_at = time.monotonic()
        for r in first.values():
            r.child.kill()
        details["killed_exit_codes"] = [await r.child.wait() for r in first.values()]
        took_over = await asyncio.gather(
            *(wait_owned(second[k], owned[k], TAKEOVER_TIMEOUT_S) for k in KINDS)
        )
        recover_s = round(time.monotonic() - killed_at, 2) if all(took_over) else None
        await asyncio.gather(*(r.start() for r in again.values()))  # as an orchestrator would
        simulation = await rig.load.finish()
        left = {k: await wait_caught_up(ctx.bootstrap, specs[k], CATCH_UP_TIMEOUT_S) for k in KINDS}
        effects_spec = replace(specs["alerting"], kind="alerting-effects")
        left["alerting-effects"] = await wait_caught_up(
            ctx.bootstrap, effects_spec, CATCH_UP_TIMEOUT_S, [f"{rig.prefix}.alerts"]
        )
        details["partitions_after_restart"] = {k: await r.assigned() for k, r in again.items()}
        stopped = [*second.values(), *again.values()]
        codes = await asyncio.gather(*(r.child.stop() for r in stopped))
    finally:
        for r in (*first.values(), *second.values(), *again.values()):
            await r.child.stop()
        await rig.close()
        await hook.stop()
    tally, topics = await rig.verify()
    effects = await _effects(ctx.bootstrap, rig.prefix, configs, topics, hook)
    problems += load_problems(simulation)
    problems += [p for e in effects for p in e.problems]
    if not all(held.values()):
        problems.append(f"a killed replica owned no partition: {held}")
    if any(left.values()):
        problems.append(f"the groups did not catch up: records left {left}")
    if any(codes):
        problems.append(f"replicas exited {codes} on SIGTERM")
    details |= {
        **load_details(simulation),
        "partitions_held_by_killed": held,
        **{k: v for e in effects for k, v in e.details.items()},
    }
    return result(
        NAME,
        sent(simulation),
        _with_effects(tally, effects),
        recover_s,
        "SIGKILL of one replica per worker -> the other owns all partitions",
        problems,
        details,
        rig.load.errors(),
    )
