"""The workers' side of a scenario: their effects against an uninterrupted run, and one replica
of each worker consuming while the faults happen upstream.

Upstream faults make duplicates on the topics (a delivery retried after a 502, 503 or 504 whose
records had landed). Whether they stay harmless is a question for the workers' real consume
loop, so the scenarios that break the ingress side run both workers as processes and compare
what they did (``effects.py``): an alert fired twice or an activity counted twice is a
duplicate effect, one missing a lost effect.
"""

import asyncio
from collections.abc import Mapping
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
)
from tools.chaos.verify import Records, Tally, header
from tools.chaos.workers import INPUTS, Replica, WorkerSpec, wait_caught_up, write_config

KINDS = ("alerting", "scoring")
CATCH_UP_TIMEOUT_S = 90.0


async def effects(
    bootstrap: str, prefix: str, configs: Mapping[str, Path], topics: dict[str, Records]
) -> list[Effects]:
    """The alerts and the scores the worker processes wrote, against the clean run's."""
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    settings: dict[str, WorkerSettings] = {
        k: load_worker_settings(k, {"DATASTREAMS_WORKER_CONFIG": str(configs[k])}) for k in KINDS
    }
    inputs = {f"{prefix}.{short}": topics[short] for short in INPUTS["alerting"]}
    alerts = alert_effects(
        await reference_alerts(settings["alerting"], inputs),
        await read_all(kafka, f"{prefix}.alerts"),
    )
    leads = topics["lead-activity"]
    scores = score_effects(
        await reference_scores(settings["scoring"], leads, f"{prefix}.lead-activity"),
        await read_all(kafka, f"{prefix}.lead-scores"),
        len({header(r, "ce_id") for r in leads}),
    )
    return [alerts, scores]


def with_effects(tally: Tally, found: list[Effects]) -> Tally:
    return replace(
        tally,
        duplicate_effects=tally.duplicate_effects + sum(e.duplicates for e in found),
        lost_effects=tally.lost_effects + sum(e.lost for e in found),
    )


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
        self.replicas = [Replica(self.specs[k], 1, self.configs[k], env) for k in KINDS]

    async def start(self) -> None:
        await asyncio.gather(*(r.start() for r in self.replicas))

    async def settle(self) -> tuple[dict[str, int], list[int | None]]:
        """Wait until both groups have committed every input record, then stop them (SIGTERM):
        the records left per group (0 when caught up) and the exit statuses."""
        left = {
            k: await wait_caught_up(self.bootstrap, spec, CATCH_UP_TIMEOUT_S)
            for k, spec in self.specs.items()
        }
        codes = await asyncio.gather(*(r.child.stop() for r in self.replicas))
        return left, list(codes)

    async def stop(self) -> None:
        for r in self.replicas:
            await r.child.stop()

    async def effects(self, topics: dict[str, Records]) -> list[Effects]:
        return await effects(self.bootstrap, self.prefix, self.configs, topics)
