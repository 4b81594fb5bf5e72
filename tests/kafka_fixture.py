"""pytest plugin: one real single-node Apache Kafka broker for the whole test session.

Enable it from the root conftest with ``pytest_plugins = ["tests.kafka_fixture"]``.

``kafka_bootstrap`` (session scope, synchronous) yields ``"127.0.0.1:<port>"``. It fetches the
broker's jars into ``deploy/kafka/libs`` if needed (Maven; cached by the ``.complete`` stamp),
then starts a broker with ``deploy/kafka/broker.py`` on free ports and a temporary data dir,
and stops it at the end of the session. If the broker cannot start, every test that needs it
fails (never skips) with the tail of the broker's log.

Set ``KAFKA_TEST_BOOTSTRAP=host:port`` to use an already running broker instead (e.g. one
started with ``make kafka-up``); nothing is started or stopped then.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, cast

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BROKER_PY = REPO_ROOT / "deploy" / "kafka" / "broker.py"
LIBS_DIR = REPO_ROOT / "deploy" / "kafka" / "libs"
ENV_BOOTSTRAP = "KAFKA_TEST_BOOTSTRAP"
START_TIMEOUT_S = 60.0
_MODULE_NAME = "datastreams_kafka_broker"


class BrokerModule(Protocol):
    """The part of deploy/kafka/broker.py that the tests use."""

    BrokerError: type[Exception]

    def ensure_jars(self, libs_dir: Path) -> None: ...

    def start_broker(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        libs_dir: Path,
        timeout_s: float = ...,
    ) -> int: ...

    def stop_broker(self, data_dir: Path, timeout_s: float = ...) -> None: ...

    def free_port(self) -> int: ...


def load_broker_module() -> BrokerModule:
    """Import deploy/kafka/broker.py (not a package) once, by file path."""
    module = sys.modules.get(_MODULE_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(_MODULE_NAME, BROKER_PY)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {BROKER_PY}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[_MODULE_NAME] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_MODULE_NAME]
            raise
    return cast(BrokerModule, module)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address ``127.0.0.1:<port>`` of a real Kafka broker for this session."""
    external = os.environ.get(ENV_BOOTSTRAP, "").strip()
    if external:
        yield external
        return

    broker = load_broker_module()
    data_dir = tmp_path_factory.mktemp("kafka")
    port = broker.free_port()
    controller_port = broker.free_port()
    while controller_port == port:
        controller_port = broker.free_port()
    error: str | None = None
    try:
        broker.ensure_jars(LIBS_DIR)
        broker.start_broker(data_dir, port, controller_port, LIBS_DIR, START_TIMEOUT_S)
    except Exception as exc:  # reported below, outside the except block (no chained traceback)
        error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        pytest.fail(
            f"could not start the Kafka test broker (data dir {data_dir}):\n{error}",
            pytrace=False,
        )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop_broker(data_dir)
