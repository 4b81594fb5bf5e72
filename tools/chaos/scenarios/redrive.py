"""Dead-letter redrive under load, killed half-way.

An older ingress is taken to have dead-lettered ``redrive_letters`` good events (a bug since
fixed); the simulator meanwhile keeps the ingress busy, malformed events included, so the
dead-letter topic also holds letters that stay unusable. ``datastreams redrive`` is SIGKILLed
after its first chunk is on Kafka, run again to the end, then once more, which must redrive
nothing. Every fixed event must be on its stream topic; a kill between a chunk's envelopes and
its ledger records may publish some twice (same ids, deduplicated downstream). Recovered: the
rerun after the kill has finished.
"""

import asyncio
import hashlib
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from pipeline.envelope import DeadLetter, Stream, Via, format_time
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import build_topics, route_dead_letter
from tools.chaos.load import tenants
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.common import Context, Rig, load_details, load_problems, sent, start_rig
from tools.chaos.verify import Ack
from tools.process import Child
from tools.simulate.events import EventFactory, SimEvent

NAME = "dead-letter redrive"
FIRST_CHUNK = "redrive: published"
REPORT = re.compile(r"redriven (\d+) \((\d+) envelopes\)")
RUN_TIMEOUT_S = 120.0
MAX_RECORD_BYTES = 10 * 1024 * 1024


def fixed_events(ctx: Context) -> list[SimEvent]:
    """Good events of the simulator's tenants, half direct-push activities, half Adobe events."""
    rng = random.Random(f"redrive:{ctx.settings.seed}")  # noqa: S311 - test data
    factory = EventFactory(rng, tenants(ctx.settings), lambda: datetime.now(UTC))
    out = []
    for n in range(ctx.settings.redrive_letters):
        tenant = factory.tenants[n % len(factory.tenants)]
        out.append(factory.activity(tenant) if n % 2 else factory.adobe_event(tenant))
    return out


def letter(event: SimEvent, raw: bytes) -> DeadLetter:
    via = Via.ADOBE_IO if event.adobe_event_id else Via.DIRECT_PUSH
    return DeadLetter(
        id="sha256:" + hashlib.sha256(raw).hexdigest(),
        raw=raw,
        reason="unknown_type",
        detail="refused by an older ingress (chaos)",
        munchkinid=event.tenant,
        stream=Stream(event.stream),
        via=via,
        receivedat=format_time(datetime.now(UTC)),
    )


async def publish_letters(rig: Rig, events: list[SimEvent], partitions: int) -> None:
    topics = build_topics(TopicSettings(prefix=rig.prefix, partitions=partitions), MAX_RECORD_BYTES)
    kafka = KafkaSettings(bootstrap_servers=rig.bootstrap)
    records = [route_dead_letter(letter(e, orjson.dumps(e.doc)), topics) for e in events]
    async with Publisher(kafka, topics, create_topics=False) as publisher:
        await publisher.wait_ready(30)
        await publisher.publish(records)


def redrive(rig: Rig, run: int) -> Child:
    log = rig.work / f"redrive-{run}.log"
    return Child.datastreams(f"redrive #{run}", ["redrive"], rig.ingress.env, log)


async def kill_after_first_chunk(child: Child) -> bool:
    """SIGKILL as soon as the first chunk is logged; False if the run ended before that."""
    await child.spawn()
    while child.running:
        if FIRST_CHUNK in child.log.read_text("utf-8", "replace"):
            child.kill()
            await child.wait()
            return True
        await asyncio.sleep(0.005)
    return False


def redriven(log: Path) -> int | None:
    found = REPORT.findall(log.read_text("utf-8", "replace"))
    return int(found[-1][0]) if found else None


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    rig = await start_rig(ctx, "redrive", ctx.bootstrap)
    events = fixed_events(ctx)
    problems: list[str] = []
    killed, rerun, again = redrive(rig, 1), redrive(rig, 2), redrive(rig, 3)
    try:
        await publish_letters(rig, events, s.partitions)
        await rig.load.until(s.fault_at_s)
        if not await kill_after_first_chunk(killed):
            problems.append("the redrive finished before it could be killed half-way")
        killed_at = time.monotonic()
        await rerun.spawn()
        rerun_code = await rerun.wait(RUN_TIMEOUT_S)
        recover_s = round(time.monotonic() - killed_at, 2) if rerun_code == 0 else None
        await again.spawn()
        again_code = await again.wait(RUN_TIMEOUT_S)
        simulation = await rig.load.finish()
    finally:
        for child in (killed, rerun, again):
            child.kill()  # only one that hangs is still running here
        await rig.close()
    extra = tuple(Ack(e.topic, e.id) for e in events)
    tally, _ = await rig.verify(extra)
    problems += load_problems(simulation)
    if (rerun_code, again_code) != (0, 0):
        problems.append(f"redrive exited {rerun_code} then {again_code}")
    if redriven(again.log) != 0:
        problems.append(f"the third run redrove {redriven(again.log)} letters again")
    details = {
        **load_details(simulation),
        "fixed_letters": len(events),
        "redriven_by_rerun": redriven(rerun.log),
        "redriven_by_third_run": redriven(again.log),
    }
    return result(
        NAME,
        sent(simulation) + len(events),
        tally,
        recover_s,
        "SIGKILL of the redrive -> a rerun has redriven the rest",
        problems,
        details,
        rig.load.errors(),
    )
