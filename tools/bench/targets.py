"""The servers under load, each in its own process: the ingress, and Adobe's sample consumer.

Each target is started, probed until it answers, sampled (CPU seconds and RSS from ``/proc``)
and stopped with SIGTERM (SIGKILL after a grace period). ``paths`` maps a shape to the URL path
it is POSTed to on that target.
"""

import asyncio
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

from tools.process import Child, ChildFailed

SAMPLE_DIR = Path(__file__).resolve().parent / "sample-consumer"
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


def sample(pid: int) -> Sample:
    """CPU seconds used so far and the resident set size of one process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
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

    def path(self, shape: str) -> str:
        raise NotImplementedError

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

    def __init__(self, port: int, log_path: Path, config: Path, env: Mapping[str, str]) -> None:
        super().__init__(port, log_path)
        self.config = config
        self.env = {**env, "DATASTREAMS_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}

    def path(self, shape: str) -> str:
        return "/v1/lead-activity" if shape == "direct-push" else "/v1/adobe-io"

    async def start(self) -> None:
        argv = [sys.executable, "-m", "ingest", "ingress"]
        await self._start(argv, self.env, None, f"http://127.0.0.1:{self.port}/readyz")


class SampleConsumer(Target):
    """Adobe's sample consumer: express parsing each POST and appending it to a log file."""

    name = "express"

    def __init__(self, port: int, log_path: Path, body_log: Path, env: Mapping[str, str]) -> None:
        super().__init__(port, log_path)
        self.body_log = body_log
        self.env = env

    def path(self, shape: str) -> str:
        return "/"

    async def install(self) -> None:
        """``npm ci`` from the committed lockfile, once (node_modules is git-ignored)."""
        if (SAMPLE_DIR / "node_modules" / "express").is_dir():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise TargetFailed("npm is not installed: the express sample needs node and npm")
        proc = await asyncio.create_subprocess_exec(
            npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=SAMPLE_DIR, env=self.env
        )
        if await proc.wait() != 0:
            raise TargetFailed(f"npm ci in {SAMPLE_DIR} failed (exit {proc.returncode})")

    async def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise TargetFailed("node is not installed: the express sample needs it")
        await self.install()
        argv = [node, "server.js", str(self.port), str(self.body_log.resolve())]
        await self._start(argv, self.env, SAMPLE_DIR, f"http://127.0.0.1:{self.port}/")
