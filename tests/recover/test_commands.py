"""The three commands as an operator runs them: a TOML file, ``datastreams journal``,
``backfill marketo --dry-run`` (which calls nothing) and ``gaps`` with its recovery commands."""

import argparse
import asyncio
import importlib
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.cli import COMMANDS, parser_for
from tests.recover.conftest import Upstreams, config_file, sim_tenants
from tools.simulate.events import EventFactory


def command(argv: list[str], env: dict[str, str]) -> int:
    args: argparse.Namespace = parser_for(argv).parse_args(argv)
    code: int = importlib.import_module(COMMANDS[args.command]).run(args, env)
    return code


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The commands set up the process' logging (a handler on this test's stderr); the next
    tests get pytest's back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def setup(
    upstreams: Any, kafka_bootstrap: str, tmp_path: Path
) -> tuple[Upstreams, dict[str, str]]:
    ups = await upstreams(sim_tenants())
    factory = EventFactory(random.Random(9), ups.tenants, lambda: datetime.now(UTC), 40)
    for tenant in ups.tenants:
        for _ in range(20):
            ups.upstream.record(factory.adobe_event(tenant), "adobe-io")
            ups.upstream.record(factory.activity(tenant), "direct-push")
    env = {"DATASTREAMS_CONFIG": str(config_file(ups, kafka_bootstrap, tmp_path / "ds.toml"))}
    return ups, env


async def test_the_commands_recover_and_report(
    setup: tuple[Upstreams, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    ups, env = setup
    assert await _in_thread(["journal", "--seek=-PT1H"], env) == 0
    out = capsys.readouterr().out
    assert out.count("published 20,") == 2, out

    assert await _in_thread(["backfill", "marketo", "--since", "2020-01-01", "--dry-run"], env) == 0
    out = capsys.readouterr().out
    assert "bulk:" in out  # six years: the bulk extract
    assert "cost: about" in out
    assert ups.apis.marketo.token_grants == 0  # a dry run calls nothing

    assert await _in_thread(["gaps", "--threshold", "0.01"], env) == 0
    out = capsys.readouterr().out
    assert "datastreams journal --registration reg-" in out
    assert "--seek=-PT" in out
    assert "datastreams backfill marketo --tenant" in out

    assert await _in_thread(["journal", "--seek", "yesterday"], env) == 2


async def _in_thread(argv: list[str], env: dict[str, str]) -> int:
    """Each command runs its own event loop (asyncio.run), as from the shell."""
    return await asyncio.to_thread(command, argv, env)
