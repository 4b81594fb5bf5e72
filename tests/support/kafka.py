"""pytest plugin: one real single-node Apache Kafka broker for the whole test session.

Registered by the root conftest (``pytest_plugins``). ``kafka_bootstrap`` (session scope,
synchronous) yields ``"127.0.0.1:<port>"``. It fetches the broker's jars into
``deploy/kafka/libs`` if needed (Maven; cached by the ``.complete`` stamp), then starts a broker
with ``tools.kafka`` on free ports and a temporary data dir, and stops it at the end of the
session. If the broker cannot start, every test that needs it fails (never skips) with the tail
of the broker's log.

Every test whose fixtures reach ``kafka_bootstrap`` carries the ``kafka`` marker (root
conftest). A run that selected no such test must not start a broker (``make test-fast``): the
fixture fails loudly if something asks for it all the same.

Set ``KAFKA_TEST_BOOTSTRAP=host:port`` to use an already running broker instead (e.g. one
started with ``make kafka-up``); nothing is started or stopped then.
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from pipeline.reader import read_all
from pipeline.settings import KafkaSettings
from tools.kafka import DEFAULT_LIBS_DIR, ensure_jars, start_broker, stop_broker
from tools.process import free_ports

ENV_BOOTSTRAP = "KAFKA_TEST_BOOTSTRAP"
LIBS_DIR = DEFAULT_LIBS_DIR  # shared with `make kafka-jars`: fetched once per checkout
START_TIMEOUT_S = 60.0
READ_TIMEOUT_S = 15.0
_BROKER_SELECTED = pytest.StashKey[bool]()


def pytest_collection_finish(session: pytest.Session) -> None:
    selected = any(item.get_closest_marker("kafka") for item in session.items)
    session.config.stash[_BROKER_SELECTED] = selected


@pytest.fixture(scope="session")
def kafka_bootstrap(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Bootstrap address ``127.0.0.1:<port>`` of a real Kafka broker for this session."""
    if not request.config.stash.get(_BROKER_SELECTED, True):
        pytest.fail(
            "the Kafka broker was requested in a run that selected no test marked `kafka`: "
            "a test reaches kafka_bootstrap other than through its fixture arguments "
            "(request.getfixturevalue?), so the root conftest cannot mark it",
            pytrace=False,
        )
    external = os.environ.get(ENV_BOOTSTRAP, "").strip()
    if external:
        yield external
        return

    data_dir = tmp_path_factory.mktemp("kafka")
    port, controller_port = free_ports(2)
    error: str | None = None
    try:
        ensure_jars(LIBS_DIR)
        start_broker(data_dir, port, controller_port, LIBS_DIR, START_TIMEOUT_S)
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
        stop_broker(data_dir)


async def read_topic(
    bootstrap: str, topic: str, timeout_s: float = READ_TIMEOUT_S
) -> list[ConsumerRecord[Any, Any]]:
    """Every record on the topic, read from the start up to its current end offsets; the topic
    must exist."""
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    return await read_all(kafka, topic, timeout_s=timeout_s, must_exist=True)
