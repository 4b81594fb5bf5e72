#!/usr/bin/env python3
"""Start and stop a single-node Apache Kafka 4.x broker (KRaft) from Maven Central jars.

No Docker and no Kafka tarball: ``deploy/kafka/pom.xml`` fetches the broker's jars with Maven
(:func:`ensure_jars`) and :func:`start_broker` runs ``java ... kafka.Kafka`` directly.

Usable as a script::

    python deploy/kafka/broker.py up [--port N] [--controller-port N]
                                     [--data-dir DIR] [--libs-dir DIR] [--timeout S]
    python deploy/kafka/broker.py down [--data-dir DIR]
    python deploy/kafka/broker.py status [--data-dir DIR]
    python deploy/kafka/broker.py jars [--libs-dir DIR]

and as a module (load it with importlib; it is not part of a package). Only the standard
library is imported at import time; aiokafka is imported lazily by the readiness check.

Layout of a data dir::

    server.properties   rendered from server.properties.template
    cluster.id          KRaft cluster id, generated once per data dir
    kraft/              log.dirs: metadata log and topic partitions
    logs/server.log     broker log (log4j2.properties, -Dkafka.logs.dir)
    broker.out          the JVM's stdout and stderr
    broker.pid          pid of the running broker (also its process-group id)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_LIBS_DIR",
    "BrokerError",
    "broker_status",
    "ensure_jars",
    "free_port",
    "kill_broker",
    "main",
    "restart_node",
    "start_broker",
    "start_cluster",
    "stop_broker",
]

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
POM = HERE / "pom.xml"
TEMPLATE = HERE / "server.properties.template"
LOG4J2_CONF = HERE / "log4j2.properties"
DEFAULT_LIBS_DIR = HERE / "libs"
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "kafka"
DEFAULT_PORT = 9092

STAMP_NAME = ".complete"
CONF_NAME = "server.properties"
CLUSTER_ID_NAME = "cluster.id"
PIDFILE_NAME = "broker.pid"
STDOUT_NAME = "broker.out"
KRAFT_SUBDIR = "kraft"
LOGS_SUBDIR = "logs"

HOST = "127.0.0.1"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
JVM_HEAP = ["-Xms256m", "-Xmx1g"]
CLUSTER_JVM_HEAP = ["-Xms128m", "-Xmx512m"]
JVM_OPTS = [
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]
TAIL_LINES = 40
KILL_GRACE_S = 10.0

_T = TypeVar("_T")

# Brokers started by this process: kept so they are reaped (no zombies) and so that
# subprocess.Popen never warns about a child that is "still running" when collected.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class BrokerError(RuntimeError):
    """The broker (or its jars) could not be fetched, started or stopped."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip("\n") or "(empty)"
    except OSError as exc:
        return f"({exc.strerror or exc})"


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
    java = shutil.which("java")
    if java is None:
        raise BrokerError("java not found (install Java 17+ or set JAVA_HOME)")
    return java


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _classpath(libs_dir: Path) -> str:
    # A literal wildcard: java expands it (no shell involved).
    return f"{libs_dir}/*"


def _check_libs(libs_dir: Path) -> None:
    if not (libs_dir / STAMP_NAME).is_file():
        raise BrokerError(
            f"Kafka jars missing in {libs_dir} (no {STAMP_NAME} stamp): "
            "run `python deploy/kafka/broker.py jars` or `make kafka-jars` first"
        )


# --------------------------------------------------------------------------- jars


def ensure_jars(libs_dir: Path) -> None:
    """Copy the broker's runtime jars from Maven Central into ``libs_dir``.

    A no-op when the stamp ``libs_dir/.complete`` exists. The stamp holds a digest of
    ``pom.xml``; if the pom has changed since (e.g. a Kafka version bump), the old jars are
    removed and fetched again. The stamp is written only after a successful copy.
    """
    libs_dir = libs_dir.resolve()
    stamp = libs_dir / STAMP_NAME
    digest = _pom_digest()
    if stamp.is_file():
        recorded = stamp.read_text(encoding="utf-8").strip()
        if recorded in ("", digest):
            return
        print(f"{POM} changed since the jars were fetched: refreshing {libs_dir}", flush=True)
        stamp.unlink()
        for jar in libs_dir.glob("*.jar"):
            jar.unlink()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("mvn not found: Maven is needed to fetch the Kafka jars")
    libs_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-B",
        "-ntp",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={libs_dir}",
    ]
    print(f"fetching Kafka jars from Maven Central into {libs_dir} ...", flush=True)
    started = time.monotonic()
    # S603: fixed argv list, no shell.
    proc = subprocess.run(  # noqa: S603
        cmd, capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    if proc.returncode != 0:
        output = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-TAIL_LINES:])
        raise BrokerError(
            f"fetching Kafka jars failed (mvn exit code {proc.returncode}):\n"
            f"  {' '.join(cmd)}\n{output}"
        )
    if not any(libs_dir.glob("kafka_2.13-*.jar")):
        raise BrokerError(f"mvn succeeded but no kafka_2.13 jar landed in {libs_dir}")
    stamp.write_text(digest + "\n", encoding="utf-8")
    count = sum(1 for _ in libs_dir.glob("*.jar"))
    print(f"fetched {count} jars in {time.monotonic() - started:.1f}s", flush=True)


# --------------------------------------------------------------------------- processes


def _read_pid(data_dir: Path) -> int | None:
    try:
        text = (data_dir / PIDFILE_NAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_our_broker(pid: int, data_dir: Path) -> bool:
    """Guard against pid reuse: the process must run kafka.Kafka with this data dir's config."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc (not Linux): trust the pidfile
    argv = raw.decode(errors="replace").split("\0")
    return MAIN_CLASS in argv and str(data_dir / CONF_NAME) in argv


def _running_pid(data_dir: Path) -> int | None:
    """Pid of the broker recorded in ``data_dir``, or None (removing a stale pidfile)."""
    pid = _read_pid(data_dir)
    if pid is None:
        (data_dir / PIDFILE_NAME).unlink(missing_ok=True)
        return None
    if _alive(pid) and _is_our_broker(pid, data_dir):
        return pid
    (data_dir / PIDFILE_NAME).unlink(missing_ok=True)
    _CHILDREN.pop(pid, None)
    return None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        child = _CHILDREN.get(pid)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
        if not _alive(pid):
            _CHILDREN.pop(pid, None)
            return True
        if time.monotonic() >= deadline:
            return False
        if child is None:
            time.sleep(0.1)


def _terminate(pid: int, timeout_s: float) -> None:
    _signal_group(pid, signal.SIGTERM)
    if not _wait_dead(pid, timeout_s):
        _signal_group(pid, signal.SIGKILL)
        if not _wait_dead(pid, KILL_GRACE_S):
            raise BrokerError(f"broker pid {pid} survived SIGKILL")


def _configured_port(data_dir: Path) -> int | None:
    try:
        text = (data_dir / CONF_NAME).read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^advertised\.listeners=PLAINTEXT://[^:\s]+:(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- readiness


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


def _require_aiokafka() -> None:
    try:
        import aiokafka  # noqa: F401
    except ImportError as exc:
        raise BrokerError(
            f"aiokafka is not importable from {sys.executable} (needed for the readiness "
            "check): use the project's venv, e.g. .venv/bin/python"
        ) from exc


def _wait_ready(proc: subprocess.Popen[bytes], port: int, deadline: float) -> None:
    while not _port_open(port, timeout_s=0.5):
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


# --------------------------------------------------------------------------- start / stop


def _render_config(
    data_dir: Path,
    port: int,
    controller_port: int,
    node_id: int = 1,
    voters: str | None = None,
) -> Path:
    kraft_dir = data_dir / KRAFT_SUBDIR
    nodes = 1 if voters is None else voters.count(",") + 1
    text = (
        TEMPLATE.read_text(encoding="utf-8")
        .replace("@BROKER_PORT@", str(port))
        .replace("@CONTROLLER_PORT@", str(controller_port))
        .replace("@LOG_DIR@", str(kraft_dir))
        .replace("@NODE_ID@", str(node_id))
        .replace("@VOTERS@", voters or f"1@{HOST}:{controller_port}")
        .replace("@REPLICAS@", str(nodes))
        .replace("@MIN_ISR@", str(max(1, nodes - 1)))
    )
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise BrokerError(f"unrendered placeholders in {TEMPLATE}: {sorted(set(leftover))}")
    conf = data_dir / CONF_NAME
    conf.write_text(text, encoding="utf-8")
    return conf


def _cluster_id(data_dir: Path) -> str:
    path = data_dir / CLUSTER_ID_NAME
    if path.is_file():
        existing = path.read_text(encoding="utf-8").strip()
        if existing:
            return existing
    while True:  # like Kafka's Uuid.randomUuid(): 22 url-safe base64 chars, no leading '-'
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            break
    path.write_text(cluster_id + "\n", encoding="utf-8")
    return cluster_id


def _jvm_props(data_dir: Path) -> list[str]:
    return [
        f"-Dkafka.logs.dir={data_dir / LOGS_SUBDIR}",
        f"-Dlog4j2.configurationFile={LOG4J2_CONF}",
    ]


def _format_storage(data_dir: Path, conf: Path, libs_dir: Path) -> None:
    if (data_dir / KRAFT_SUBDIR / "meta.properties").is_file():
        return
    cmd = [
        _java(),
        *_jvm_props(data_dir),
        "-cp",
        _classpath(libs_dir),
        STORAGE_TOOL,
        "format",
        "-t",
        _cluster_id(data_dir),
        "-c",
        str(conf),
        "--ignore-formatted",
    ]
    proc = subprocess.run(  # noqa: S603 (fixed argv list, no shell)
        cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, cwd=data_dir
    )
    if proc.returncode != 0:
        raise BrokerError(
            f"formatting KRaft storage failed (exit code {proc.returncode}):\n"
            f"  {' '.join(cmd)}\n{(proc.stdout + proc.stderr).strip()}"
        )


def _failure_report(data_dir: Path, reason: str) -> str:
    return (
        f"Kafka broker failed to start: {reason}\n"
        f"--- last {TAIL_LINES} lines of {data_dir / LOGS_SUBDIR / 'server.log'}\n"
        f"{_tail(data_dir / LOGS_SUBDIR / 'server.log')}\n"
        f"--- last {TAIL_LINES} lines of {data_dir / STDOUT_NAME}\n"
        f"{_tail(data_dir / STDOUT_NAME)}"
    )


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
    accepts connections and a real admin call succeeds, all within ``timeout_s``. On failure
    the broker is killed and :class:`BrokerError` carries the tails of its logs.
    """
    data_dir = data_dir.resolve()
    libs_dir = libs_dir.resolve()
    if port == controller_port:
        raise BrokerError(f"broker port and controller port must differ (both {port})")
    data_dir.mkdir(parents=True, exist_ok=True)

    existing = _running_pid(data_dir)
    if existing is not None:
        if _port_open(port):
            return existing
        raise BrokerError(
            f"a broker (pid {existing}) already runs from {data_dir} but does not answer on "
            f"{HOST}:{port} (configured port: {_configured_port(data_dir)}); stop it first"
        )
    _check_free(port, controller_port)
    _check_libs(libs_dir)
    _require_aiokafka()

    deadline = time.monotonic() + timeout_s
    proc = _launch(data_dir, _render_config(data_dir, port, controller_port), libs_dir, JVM_HEAP)
    _await_ready(data_dir, proc, port, deadline)
    return proc.pid


def _check_free(*ports: int) -> None:
    for p in ports:
        if _port_open(p, timeout_s=0.5):
            raise BrokerError(f"port {HOST}:{p} is already in use by another process")


def _launch(
    data_dir: Path, conf: Path, libs_dir: Path, heap: Sequence[str]
) -> subprocess.Popen[bytes]:
    """Format the storage (once) and start the JVM in its own session; write the pidfile."""
    (data_dir / LOGS_SUBDIR).mkdir(exist_ok=True)
    _format_storage(data_dir, conf, libs_dir)
    cmd = [
        _java(),
        *heap,
        *JVM_OPTS,
        *_jvm_props(data_dir),
        "-cp",
        _classpath(libs_dir),
        MAIN_CLASS,
        str(conf),
    ]
    with (data_dir / STDOUT_NAME).open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 (fixed argv list, no shell)
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    (data_dir / PIDFILE_NAME).write_text(f"{proc.pid}\n", encoding="utf-8")
    return proc


def _await_ready(data_dir: Path, proc: subprocess.Popen[bytes], port: int, deadline: float) -> None:
    try:
        _wait_ready(proc, port, deadline)
    except BaseException as exc:
        with contextlib.suppress(BrokerError):
            _terminate(proc.pid, 5.0)
        (data_dir / PIDFILE_NAME).unlink(missing_ok=True)
        if isinstance(exc, BrokerError):
            raise BrokerError(_failure_report(data_dir, str(exc))) from None
        raise


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
    _check_libs(libs_dir)
    _require_aiokafka()
    _check_free(*(p for pair in ports for p in pair))
    voters = ",".join(f"{n}@{HOST}:{c}" for n, (_, c) in enumerate(ports, start=1))
    base_dir.mkdir(parents=True, exist_ok=True)
    cluster_id = _cluster_id(base_dir)
    deadline = time.monotonic() + timeout_s
    launched = []
    for node, (port, controller_port) in enumerate(ports, start=1):
        data_dir = base_dir / f"node-{node}"
        data_dir.mkdir(exist_ok=True)
        (data_dir / CLUSTER_ID_NAME).write_text(cluster_id + "\n", encoding="utf-8")
        conf = _render_config(data_dir, port, controller_port, node, voters)
        launched.append((data_dir, _launch(data_dir, conf, libs_dir, CLUSTER_JVM_HEAP), port))
    for data_dir, proc, port in launched:  # all started first: a quorum needs a majority
        _await_ready(data_dir, proc, port, deadline)
    return [data_dir for data_dir, _, _ in launched]


def restart_node(data_dir: Path, libs_dir: Path, timeout_s: float = 60.0) -> int:
    """Start again a cluster node whose config is already rendered in ``data_dir``."""
    data_dir, libs_dir = data_dir.resolve(), libs_dir.resolve()
    port = _configured_port(data_dir)
    if port is None:
        raise BrokerError(f"no rendered config in {data_dir}")
    proc = _launch(data_dir, data_dir / CONF_NAME, libs_dir, CLUSTER_JVM_HEAP)
    _await_ready(data_dir, proc, port, time.monotonic() + timeout_s)
    return proc.pid


def kill_broker(data_dir: Path) -> None:
    """SIGKILL the broker recorded in ``data_dir``: a crash, not a shutdown."""
    pid = _running_pid(data_dir.resolve())
    if pid is not None:
        _signal_group(pid, signal.SIGKILL)
        _wait_dead(pid, KILL_GRACE_S)
    (data_dir.resolve() / PIDFILE_NAME).unlink(missing_ok=True)


def stop_broker(data_dir: Path, timeout_s: float = 30.0) -> None:
    """Stop the broker recorded in ``data_dir`` (no-op if none runs).

    SIGTERM to its process group, SIGKILL after ``timeout_s``; the pidfile is removed.
    """
    data_dir = data_dir.resolve()
    pid = _running_pid(data_dir)
    if pid is not None:
        _terminate(pid, timeout_s)
    (data_dir / PIDFILE_NAME).unlink(missing_ok=True)


def broker_status(data_dir: Path) -> tuple[int | None, int | None]:
    """Return ``(pid, port)`` of the broker recorded in ``data_dir``; pid None if not running."""
    data_dir = data_dir.resolve()
    return _running_pid(data_dir), _configured_port(data_dir)


# --------------------------------------------------------------------------- CLI


def _default_port() -> int:
    raw = os.environ.get("KAFKA_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        return int(raw)
    except ValueError:
        raise BrokerError(f"KAFKA_PORT must be an integer, got {raw!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="broker.py", description="Single-node Apache Kafka (KRaft) on 127.0.0.1."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def data_dir_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="default: %(default)s"
        )

    def libs_dir_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--libs-dir", type=Path, default=DEFAULT_LIBS_DIR, help="default: %(default)s"
        )

    up = sub.add_parser("up", help="fetch jars if needed, start the broker, wait until ready")
    up.add_argument("--port", type=int, default=None, help="default: $KAFKA_PORT or 9092")
    up.add_argument("--controller-port", type=int, default=None, help="default: port + 1")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds (default: 60)")
    data_dir_arg(up)
    libs_dir_arg(up)

    down = sub.add_parser("down", help="stop the broker (SIGTERM, SIGKILL after --timeout)")
    down.add_argument("--timeout", type=float, default=30.0, help="seconds (default: 30)")
    data_dir_arg(down)

    status = sub.add_parser("status", help="exit 0 if the broker runs, 1 otherwise")
    data_dir_arg(status)

    jars = sub.add_parser("jars", help="fetch the Kafka jars from Maven Central (once)")
    libs_dir_arg(jars)
    return parser


def _cmd_jars(args: argparse.Namespace) -> int:
    ensure_jars(args.libs_dir)
    print(f"Kafka jars ready in {args.libs_dir.resolve()}")
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    port: int = args.port if args.port is not None else _default_port()
    controller_port: int = args.controller_port or port + 1
    ensure_jars(args.libs_dir)
    data_dir: Path = args.data_dir.resolve()
    already = _running_pid(data_dir)
    started = time.monotonic()
    pid = start_broker(data_dir, port, controller_port, args.libs_dir, args.timeout)
    if already == pid:
        print(f"Kafka broker already running: pid {pid}, bootstrap {HOST}:{port}")
    else:
        print(
            f"Kafka broker up: pid {pid}, bootstrap {HOST}:{port} "
            f"(ready in {time.monotonic() - started:.1f}s; "
            f"log {data_dir / LOGS_SUBDIR / 'server.log'})"
        )
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir.resolve()
    pid = _running_pid(data_dir)
    stop_broker(data_dir, args.timeout)
    print(f"Kafka broker stopped (pid {pid})" if pid else "Kafka broker not running")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir.resolve()
    pid, port = broker_status(data_dir)
    if pid is None:
        print(f"Kafka broker not running (data dir {data_dir})")
        return 1
    answering = port is not None and _port_open(port)
    state = "answering" if answering else "NOT answering"
    print(f"Kafka broker running: pid {pid}, bootstrap {HOST}:{port} ({state})")
    return 0 if answering else 1


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "jars": _cmd_jars,
    "up": _cmd_up,
    "down": _cmd_down,
    "status": _cmd_status,
}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
