"""A ``datastreams`` child process (ingress, worker, redrive) that a scenario may kill.

Each child runs in its own session, so SIGKILL goes to its process group and nothing it started
survives it; its stdout and stderr are appended to one log file per process.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp

READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 30.0
POLL_S = 0.1


class ChildFailed(RuntimeError):
    pass


class Child:
    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    @classmethod
    def datastreams(cls, name: str, args: list[str], env: Mapping[str, str], log: Path) -> "Child":
        return cls(name, [sys.executable, "-m", "ingest", *args], env, log)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=self.env,
                start_new_session=True,
            )

    async def start(self, ready_url: str) -> None:
        """Spawn and wait until ``ready_url`` answers 200; a child that is not ready is killed."""
        await self.spawn()
        try:
            await self.wait_ready(ready_url)
        except BaseException:
            self.kill()
            raise

    async def wait_ready(self, url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll ``url`` (a /readyz) until it answers 200; fail if the process exits first."""
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if not self.running:
                    raise ChildFailed(f"{self.name} exited: see {self.log}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(url) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(POLL_S)
        raise ChildFailed(f"{self.name} not ready within {timeout_s:g} s: see {self.log}")

    def kill(self) -> None:
        """SIGKILL: a crash. Nothing is flushed, nothing is answered."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)

    async def wait(self, timeout_s: float = STOP_GRACE_S) -> int:
        if self.proc is None:
            raise ChildFailed(f"{self.name} was never started")
        return await asyncio.wait_for(self.proc.wait(), timeout_s)

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after the grace period; the exit status (None if not started)."""
        if self.proc is None:
            return None
        self.terminate()
        try:
            return await self.wait()
        except TimeoutError:
            self.kill()
            return await self.wait()
