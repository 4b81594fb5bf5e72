"""Run the chosen scenarios one after the other (they share two cores: never in parallel)."""

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.chaos.kafka import LIBS_DIR
from tools.chaos.load import Keys
from tools.chaos.report import ScenarioResult
from tools.chaos.scenarios import SCENARIOS
from tools.chaos.scenarios.common import Context
from tools.chaos.settings import ChaosSettings
from tools.simulate.signing import SigningKey

log = logging.getLogger(__name__)


def signing_keys() -> Keys:
    return SigningKey(), SigningKey()


async def run_all(
    settings: ChaosSettings,
    bootstrap: str,
    work: Path,
    env: Mapping[str, str],
    names: Sequence[str] = tuple(SCENARIOS),
    libs_dir: Path = LIBS_DIR,
) -> list[ScenarioResult]:
    ctx = Context(settings, work, bootstrap, signing_keys(), env, libs_dir)
    results = []
    for name in names:
        started = time.monotonic()
        log.info("chaos: %s ...", name)
        outcome = await SCENARIOS[name](ctx)
        log.info(
            "chaos: %s done in %.0f s (%s)",
            name,
            time.monotonic() - started,
            "ok" if outcome.ok else "PROBLEMS",
        )
        results.append(outcome)
    return results
