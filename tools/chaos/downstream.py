"""One replica of each worker consuming while faults happen upstream, and what they did against
an uninterrupted run of the same handlers (``effects.py``).

Upstream faults put events on the topics twice (a delivery retried after a 502, 503 or 504
whose records had landed). Whether that stays harmless is a question for the workers' real
consume loop, so the load-balancer scenarios run both workers as processes:

* scores: every distinct activity counted once, every lead's score that of the clean run
  (``score_effects``); lead-scores is compacted, so a repeated record is harmless.
* alerts: the ids on ``<prefix>.alerts`` against the clean run's (a missing one is a lost
  effect). An alert fired twice is one the worker counted twice: its
  ``datastreams_worker_alerts_total`` (one per alert its handler fired and flushed) beyond the
  distinct ids. These replicas are never killed, so that count is whole. Copies of one alert
  record on the topic are counted apart: a flush retried after a publish timeout writes the
  alert again when the first attempt had landed (the broker restart does that), which is the
  at-least-once output docs/reliability.md describes, deduplicated by the alerts' readers.
"""

import asyncio
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import aiohttp

from pipeline.reader import read_all
from pipeline.settings import KafkaSettings
from pipeline.workers.settings import load_worker_settings
from tools.chaos.effects import (
    Effects,
    alert_effects,
    reference_alerts,
    reference_scores,
    score_effects,
)
from tools.chaos.verify import Records, Tally, header
from tools.chaos.workers import INPUTS, Replica, WorkerSpec, wait_caught_up, write_config

KINDS = ("alerting", "scoring")
CATCH_UP_TIMEOUT_S = 90.0
FIRED = re.compile(r"^datastreams_worker_alerts_total\{[^}]*\} (\S+)$", re.MULTILINE)


def with_effects(tally: Tally, found: list[Effects]) -> Tally:
    return replace(
        tally,
        duplicate_effects=tally.duplicate_effects + sum(e.duplicates for e in found),
        lost_effects=tally.lost_effects + sum(e.lost for e in found),
    )


def alerts_of_one_replica(reference: set[str], alerts: Records, fired: int | None) -> Effects:
    """Alert effects of a worker that ran as one process throughout; ``fired`` is its count of
    alerts fired (None: it could not be read)."""
    on_topic = alert_effects(reference, alerts)
    distinct = len({header(r, "ce_id") for r in alerts})
    problems = list(on_topic.problems)
    if fired is None or fired < distinct:
        problems.append(f"the alerting worker counted {fired} alert(s); the topic holds {distinct}")
    details = {
        **on_topic.details,
        "alerts_fired_by_the_worker": fired,
        "alert_records_repeated": on_topic.duplicates,
    }
    return Effects(max(0, (fired or 0) - distinct), on_topic.lost, tuple(problems), details)


async def _fired(replica: Replica) -> int | None:
    try:
        async with aiohttp.ClientSession() as session, session.get(replica.url + "/metrics") as r:
            text = await r.text()
    except (aiohttp.ClientError, OSError):
        return None
    return int(sum(float(v) for v in FIRED.findall(text)))


class Workers:
    """One replica of each worker on ``prefix``'s topics."""

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        partitions: int,
        session_timeout_ms: int,
        work: Path,
        env: Mapping[str, str],
    ) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.specs = {
            k: WorkerSpec(k, bootstrap, prefix, partitions, session_timeout_ms) for k in KINDS
        }
        self.configs = {k: write_config(spec, work) for k, spec in self.specs.items()}
        self.replicas = {k: Replica(self.specs[k], 1, self.configs[k], env) for k in KINDS}
        self.fired: int | None = None

    async def start(self) -> None:
        await asyncio.gather(*(r.start() for r in self.replicas.values()))

    async def settle(self) -> tuple[dict[str, int], list[int | None]]:
        """Wait until both groups have committed every input record, read the alerting
        worker's count, stop both (SIGTERM): the records left per group (0 when caught up) and
        the exit statuses."""
        left = {
            k: await wait_caught_up(self.bootstrap, spec, CATCH_UP_TIMEOUT_S)
            for k, spec in self.specs.items()
        }
        self.fired = await _fired(self.replicas["alerting"])
        codes = await asyncio.gather(*(r.child.stop() for r in self.replicas.values()))
        return left, list(codes)

    async def stop(self) -> None:
        for r in self.replicas.values():
            await r.child.stop()

    async def effects(self, topics: dict[str, Records]) -> list[Effects]:
        kafka = KafkaSettings(bootstrap_servers=self.bootstrap)
        settings = {
            k: load_worker_settings(k, {"DATASTREAMS_WORKER_CONFIG": str(self.configs[k])})
            for k in KINDS
        }
        inputs = {f"{self.prefix}.{short}": topics[short] for short in INPUTS["alerting"]}
        alerts = alerts_of_one_replica(
            await reference_alerts(settings["alerting"], inputs),
            await read_all(kafka, f"{self.prefix}.alerts"),
            self.fired,
        )
        leads = topics["lead-activity"]
        scores = score_effects(
            await reference_scores(settings["scoring"], leads, f"{self.prefix}.lead-activity"),
            await read_all(kafka, f"{self.prefix}.lead-scores"),
            len({header(r, "ce_id") for r in leads}),
        )
        return [alerts, scores]
