"""The chaos scenarios (``tools/chaos``) with their short settings, on the session's broker.

``make chaos`` runs the same code with the full settings; here each scenario is one test, so CI
exercises the chaos code itself. Scenarios that break brokers start their own from the jars the
session broker was started from.
"""

import os
from pathlib import Path

import pytest

from tools.chaos.load import Keys
from tools.chaos.report import ScenarioResult, table
from tools.chaos.run import signing_keys
from tools.chaos.scenarios.common import Context
from tools.chaos.settings import SHORT


@pytest.fixture(scope="session")
def chaos_keys() -> Keys:
    return signing_keys()  # RSA key generation is slow: once per session


@pytest.fixture
def chaos(kafka_bootstrap: str, chaos_keys: Keys, tmp_path: Path) -> Context:
    return Context(SHORT, tmp_path, kafka_bootstrap, chaos_keys, dict(os.environ))


def check(outcome: ScenarioResult) -> None:
    """The table's rules: nothing lost, no duplicate effect, recovered, no other problem."""
    print("\n" + table([outcome]))
    print(outcome.details)
    assert outcome.tally.acknowledged > 0
    assert outcome.tally.lost == 0
    assert outcome.tally.duplicate_effects == 0
    assert outcome.recover_s is not None
    assert outcome.problems == ()
    assert outcome.ok
