"""Child processes of the tools and the tests: a port to give one, a wait until it answers on
HTTP, and a runner that starts it in a session of its own with its output in a log file and
stops it (SIGTERM, SIGKILL after a grace period).

A session of its own: SIGKILL goes to the child's process group, so nothing it started survives
it, and a Ctrl-C in the terminal reaches only the parent, which stops its children in order.
"""

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from ssl import SSLContext

import aiohttp

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 30.0
POLL_S = 0.1
TAIL_LINES = 30


class ChildFailed(RuntimeError):
    """A child exited, or did not answer, before it was ready."""


def free_ports(count: int) -> list[int]:
    """``count`` TCP ports that are free on 127.0.0.1 right now: the OS picks them (bind to port
    0), all bound at once so that they differ."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def free_port() -> int:
    [port] = free_ports(1)
    return port


async def wait_ready(
    url: str,
    timeout_s: float = READY_TIMEOUT_S,
    *,
    ssl: SSLContext | bool = True,
    child: "Child | None" = None,
) -> None:
    """Poll ``url`` (a /readyz) until it answers 200.

    Polling, because readiness has no push notification. :class:`ChildFailed` when ``child``
    exits first or nothing answers 200 within ``timeout_s``.
    """
    name = url if child is None else child.name
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(timeout_s):
            while True:
                if child is not None and not child.running:
                    raise ChildFailed(f"{name} exited: see {child.log}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(url, ssl=ssl) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        where = "" if child is None else f": see {child.log}"
        raise ChildFailed(f"{name} not ready within {timeout_s:g} s{where}") from None


class Child:
    """One child process (an ingress, a worker, a redrive, a server under load)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str],
        log: Path,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log = log
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None

    @classmethod
    def datastreams(cls, name: str, args: list[str], env: Mapping[str, str], log: Path) -> "Child":
        """``python -m ingest ARGS`` with this interpreter: the checkout's code, not a wheel."""
        return cls(name, [sys.executable, "-m", "ingest", *args], env, log)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise ChildFailed(f"{self.name} was never started")
        return self.proc.pid

    async def spawn(self) -> None:
        """Start the process; its stdout and stderr are appended to the log file."""
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )

    async def start(self, ready_url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Spawn and wait until ``ready_url`` answers 200; a child that is not ready is killed."""
        await self.spawn()
        try:
            await self.wait_ready(ready_url, timeout_s)
        except BaseException:
            self.kill()
            raise

    async def wait_ready(self, url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        await wait_ready(url, timeout_s, child=self)

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

    async def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, then SIGKILL after ``grace_s``; the exit status (None if not started)."""
        if self.proc is None:
            return None
        self.terminate()
        try:
            return await self.wait(grace_s)
        except TimeoutError:
            self.kill()
            return await self.wait()

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The end of the log, headed by the child's name: for failure messages."""
        text = self.log.read_text("utf-8", "replace").splitlines() if self.log.exists() else []
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text[-lines:])
