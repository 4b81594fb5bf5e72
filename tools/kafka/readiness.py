"""When a starting broker is ready: its port accepts connections and a real admin call
(describe_cluster) answers with a broker. Only the standard library is imported at import
time; aiokafka is imported when a check runs."""

import asyncio
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from tools.kafka.errors import BrokerError
from tools.kafka.layout import HOST

_T = TypeVar("_T")


def port_open(port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _run_in_thread(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine on a private event loop in a worker thread.

    Never touches the caller's event loop (pytest-asyncio's, or a running one).
    """
    result: list[_T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(factory()))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="kafka-readiness", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


async def _describe_cluster(bootstrap: str, timeout_s: float) -> dict[str, Any]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
        retry_backoff_ms=100,
    )
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
            info: dict[str, Any] = await admin.describe_cluster()
            await admin.list_topics()
            return info
    finally:
        await admin.close()


def _admin_ready(port: int, timeout_s: float) -> dict[str, Any]:
    aiokafka_logger = logging.getLogger("aiokafka")
    previous = aiokafka_logger.level
    aiokafka_logger.setLevel(logging.CRITICAL)  # connection retries are expected here
    try:
        return _run_in_thread(lambda: _describe_cluster(f"{HOST}:{port}", timeout_s))
    finally:
        aiokafka_logger.setLevel(previous)


def require_aiokafka() -> None:
    try:
        import aiokafka  # noqa: F401
    except ImportError as exc:
        raise BrokerError(
            f"aiokafka is not importable from {sys.executable} (needed for the readiness "
            "check): use the project's venv, e.g. .venv/bin/python"
        ) from exc


def wait_ready(proc: subprocess.Popen[bytes], port: int, deadline: float) -> None:
    """Block until the broker answers an admin call; BrokerError if it exits or time runs out."""
    while not port_open(port, timeout_s=0.5):
        if proc.poll() is not None:
            raise BrokerError(f"broker exited with code {proc.returncode} during startup")
        if time.monotonic() >= deadline:
            raise BrokerError(f"timed out waiting for {HOST}:{port} to accept connections")
        time.sleep(0.2)
    last_error: BaseException | None = None
    while True:
        if proc.poll() is not None:
            raise BrokerError(f"broker exited with code {proc.returncode} during startup")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerError(
                f"timed out waiting for an admin call (describe_cluster) to succeed on "
                f"{HOST}:{port}; last error: {last_error!r}"
            )
        try:
            info = _admin_ready(port, min(remaining, 10.0))
        except Exception as exc:
            last_error = exc
            time.sleep(0.3)
            continue
        if info.get("brokers"):
            return
        last_error = BrokerError(f"describe_cluster returned no brokers: {info!r}")
        time.sleep(0.3)
