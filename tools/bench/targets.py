"""The servers under load, each in its own process: the ingress, and Adobe's sample consumer.

Each target is started, probed until it answers, sampled (CPU seconds and RSS from ``/proc``)
and stopped with SIGTERM (SIGKILL after a grace period). ``paths`` maps a shape to the URL path
it is POSTed to on that target.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

import aiohttp

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
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise TargetFailed(f"{self.name} is not running")
        return self.proc.pid

    def path(self, shape: str) -> str:
        raise NotImplementedError

    async def start(self) -> None:
        raise NotImplementedError

    async def _spawn(self, argv: list[str], env: Mapping[str, str], cwd: Path | None) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdout=log, stderr=log, env=dict(env), cwd=cwd, start_new_session=True
            )

    async def _wait_ready(self, url: str) -> None:
        deadline = monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while monotonic() < deadline:
                if self.proc is not None and self.proc.returncode is not None:
                    raise TargetFailed(f"{self.name} exited: see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(url) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise TargetFailed(f"{self.name} not ready within {READY_TIMEOUT_S:g} s: {self.log_path}")

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_GRACE_S):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


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
        await self._spawn([sys.executable, "-m", "ingest", "ingress"], self.env, None)
        await self._wait_ready(f"http://127.0.0.1:{self.port}/readyz")


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
        await self._spawn(argv, self.env, SAMPLE_DIR)
        await self._wait_ready(f"http://127.0.0.1:{self.port}/")
