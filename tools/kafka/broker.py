"""Start and stop a single-node Apache Kafka 4.x broker (KRaft), or a small local cluster, on
127.0.0.1 from the jars in ``deploy/kafka/libs``.

Every call blocks while a JVM starts or stops (async callers run them in a thread). A start
waits until the broker answers a real admin call; on failure the JVM is killed and the
:class:`BrokerError` carries the tails of its logs.
"""

import contextlib
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tools.kafka import jvm
from tools.kafka.config import cluster_id, configured_port, render_config
from tools.kafka.errors import BrokerError
from tools.kafka.jars import check_libs
from tools.kafka.layout import (
    CLUSTER_ID_NAME,
    CONF_NAME,
    HOST,
    PIDFILE_NAME,
    STDOUT_NAME,
    TAIL_LINES,
    server_log,
    tail,
)
from tools.kafka.readiness import port_open, require_aiokafka, wait_ready


def _failure_report(data_dir: Path, reason: str) -> str:
    log = server_log(data_dir)
    return (
        f"Kafka broker failed to start: {reason}\n"
        f"--- last {TAIL_LINES} lines of {log}\n"
        f"{tail(log)}\n"
        f"--- last {TAIL_LINES} lines of {data_dir / STDOUT_NAME}\n"
        f"{tail(data_dir / STDOUT_NAME)}"
    )


def _check_free(*ports: int) -> None:
    for p in ports:
        if port_open(p, timeout_s=0.5):
            raise BrokerError(f"port {HOST}:{p} is already in use by another process")


def _await_ready(data_dir: Path, proc: subprocess.Popen[bytes], port: int, deadline: float) -> None:
    try:
        wait_ready(proc, port, deadline)
    except BaseException as exc:
        with contextlib.suppress(BrokerError):
            jvm.terminate(proc.pid, 5.0)
        (data_dir / PIDFILE_NAME).unlink(missing_ok=True)
        if isinstance(exc, BrokerError):
            raise BrokerError(_failure_report(data_dir, str(exc))) from None
        raise


def start_broker(
    data_dir: Path,
    port: int,
    controller_port: int,
    libs_dir: Path,
    timeout_s: float = 60.0,
) -> int:
    """Start a single-node KRaft broker on 127.0.0.1:``port`` and return its pid.

    Idempotent: if ``data_dir``'s pidfile names a live broker answering on ``port``, that pid
    is returned. Otherwise the config is rendered into ``data_dir``, the storage formatted
    (once per fresh data dir), the JVM started in its own session and awaited until the port
    accepts connections and a real admin call succeeds, all within ``timeout_s``.
    """
    data_dir = data_dir.resolve()
    libs_dir = libs_dir.resolve()
    if port == controller_port:
        raise BrokerError(f"broker port and controller port must differ (both {port})")
    data_dir.mkdir(parents=True, exist_ok=True)

    existing = jvm.running_pid(data_dir)
    if existing is not None:
        if port_open(port):
            return existing
        raise BrokerError(
            f"a broker (pid {existing}) already runs from {data_dir} but does not answer on "
            f"{HOST}:{port} (configured port: {configured_port(data_dir)}); stop it first"
        )
    _check_free(port, controller_port)
    check_libs(libs_dir)
    require_aiokafka()

    deadline = time.monotonic() + timeout_s
    conf = render_config(data_dir, port, controller_port)
    proc = jvm.launch(data_dir, conf, libs_dir, jvm.JVM_HEAP)
    _await_ready(data_dir, proc, port, deadline)
    return proc.pid


def start_cluster(
    base_dir: Path,
    ports: Sequence[tuple[int, int]],
    libs_dir: Path,
    timeout_s: float = 120.0,
) -> list[Path]:
    """Start a KRaft cluster of ``len(ports)`` nodes (broker + controller each) on loopback.

    ``ports`` holds (broker port, controller port) per node. Node N lives in
    ``base_dir/node-N``; all share one cluster id; internal topics are replicated on every node
    with min.insync.replicas = nodes - 1. Returns the node data dirs (stop one with
    :func:`stop_broker` or :func:`kill_broker`; restart one with :func:`restart_node`).
    """
    base_dir, libs_dir = base_dir.resolve(), libs_dir.resolve()
    check_libs(libs_dir)
    require_aiokafka()
    _check_free(*(p for pair in ports for p in pair))
    voters = ",".join(f"{n}@{HOST}:{c}" for n, (_, c) in enumerate(ports, start=1))
    base_dir.mkdir(parents=True, exist_ok=True)
    shared_id = cluster_id(base_dir)
    deadline = time.monotonic() + timeout_s
    launched = []
    for node, (port, controller_port) in enumerate(ports, start=1):
        data_dir = base_dir / f"node-{node}"
        data_dir.mkdir(exist_ok=True)
        (data_dir / CLUSTER_ID_NAME).write_text(shared_id + "\n", encoding="utf-8")
        conf = render_config(data_dir, port, controller_port, node, voters)
        proc = jvm.launch(data_dir, conf, libs_dir, jvm.CLUSTER_JVM_HEAP)
        launched.append((data_dir, proc, port))
    for data_dir, proc, port in launched:  # all started first: a quorum needs a majority
        _await_ready(data_dir, proc, port, deadline)
    return [data_dir for data_dir, _, _ in launched]


def restart_node(data_dir: Path, libs_dir: Path, timeout_s: float = 60.0) -> int:
    """Start a node whose ``server.properties`` is already in ``data_dir`` (rendered by an
    earlier start, or written by the caller); return its pid."""
    data_dir, libs_dir = data_dir.resolve(), libs_dir.resolve()
    port = configured_port(data_dir)
    if port is None:
        raise BrokerError(f"no rendered config in {data_dir}")
    proc = jvm.launch(data_dir, data_dir / CONF_NAME, libs_dir, jvm.CLUSTER_JVM_HEAP)
    _await_ready(data_dir, proc, port, time.monotonic() + timeout_s)
    return proc.pid


def kill_broker(data_dir: Path) -> None:
    """SIGKILL the broker recorded in ``data_dir``: a crash, not a shutdown."""
    pid = jvm.running_pid(data_dir.resolve())
    if pid is not None:
        jvm.signal_group(pid, signal.SIGKILL)
        jvm.wait_dead(pid, jvm.KILL_GRACE_S)
    (data_dir.resolve() / PIDFILE_NAME).unlink(missing_ok=True)


def stop_broker(data_dir: Path, timeout_s: float = 30.0) -> None:
    """Stop the broker recorded in ``data_dir`` (no-op if none runs).

    SIGTERM to its process group, SIGKILL after ``timeout_s``; the pidfile is removed.
    """
    data_dir = data_dir.resolve()
    pid = jvm.running_pid(data_dir)
    if pid is not None:
        jvm.terminate(pid, timeout_s)
    (data_dir / PIDFILE_NAME).unlink(missing_ok=True)


def broker_status(data_dir: Path) -> tuple[int | None, int | None]:
    """Return ``(pid, port)`` of the broker recorded in ``data_dir``; pid None if not running."""
    data_dir = data_dir.resolve()
    return jvm.running_pid(data_dir), configured_port(data_dir)
