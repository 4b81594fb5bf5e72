"""Run the chosen scenarios one after the other (they share two cores: never in parallel)."""

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.chaos.load import Keys
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios import SCENARIOS
from tools.chaos.scenarios.common import Context
from tools.chaos.settings import ChaosSettings
from tools.chaos.verify import Tally
from tools.kafka import DEFAULT_LIBS_DIR as LIBS_DIR
from tools.simulate.signing import SigningKey

log = logging.getLogger(__name__)

NOTHING = Tally(acknowledged=0, found=0, duplicates_on_topic=0, duplicate_effects=0)


def crashed(name: str, exc: Exception) -> ScenarioResult:
    """The row of a scenario that raised: nothing counted, never recovered."""
    return result(name, 0, NOTHING, None, "the scenario raised", [f"{exc!r}"], {})


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
        try:
            outcome = await SCENARIOS[name](ctx)
        except Exception as exc:  # one broken scenario must not hide the others' rows
            log.exception("chaos: %s failed", name)
            outcome = crashed(name, exc)
        log.info(
            "chaos: %s done in %.0f s (%s)",
            name,
            time.monotonic() - started,
            "ok" if outcome.ok else "PROBLEMS",
        )
        results.append(outcome)
    return results
