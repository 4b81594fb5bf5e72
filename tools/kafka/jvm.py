"""The broker's JVM as a process: launched in its own session, recorded in a pidfile, signalled
as a process group, and recognised again by its command line (pid reuse)."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tools.kafka.config import cluster_id
from tools.kafka.errors import BrokerError
from tools.kafka.jars import classpath, java
from tools.kafka.layout import (
    CONF_NAME,
    KRAFT_SUBDIR,
    LOG4J2_CONF,
    LOGS_SUBDIR,
    PIDFILE_NAME,
    STDOUT_NAME,
)

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
KILL_GRACE_S = 10.0

# Brokers started by this process: kept so they are reaped (no zombies) and so that
# subprocess.Popen never warns about a child that is "still running" when collected.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


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


def running_pid(data_dir: Path) -> int | None:
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


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def wait_dead(pid: int, timeout_s: float) -> bool:
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


def terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM to the process group, SIGKILL after ``timeout_s``."""
    signal_group(pid, signal.SIGTERM)
    if not wait_dead(pid, timeout_s):
        signal_group(pid, signal.SIGKILL)
        if not wait_dead(pid, KILL_GRACE_S):
            raise BrokerError(f"broker pid {pid} survived SIGKILL")


def _jvm_props(data_dir: Path) -> list[str]:
    return [
        f"-Dkafka.logs.dir={data_dir / LOGS_SUBDIR}",
        f"-Dlog4j2.configurationFile={LOG4J2_CONF}",
    ]


def _format_storage(data_dir: Path, conf: Path, libs_dir: Path) -> None:
    if (data_dir / KRAFT_SUBDIR / "meta.properties").is_file():
        return
    cmd = [
        java(),
        *_jvm_props(data_dir),
        "-cp",
        classpath(libs_dir),
        STORAGE_TOOL,
        "format",
        "-t",
        cluster_id(data_dir),
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


def launch(
    data_dir: Path, conf: Path, libs_dir: Path, heap: Sequence[str]
) -> subprocess.Popen[bytes]:
    """Format the storage (once) and start the JVM in its own session; write the pidfile."""
    (data_dir / LOGS_SUBDIR).mkdir(exist_ok=True)
    _format_storage(data_dir, conf, libs_dir)
    cmd = [
        java(),
        *heap,
        *JVM_OPTS,
        *_jvm_props(data_dir),
        "-cp",
        classpath(libs_dir),
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
