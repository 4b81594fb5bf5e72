"""HAProxy as the load-balancer scenarios run it: the shipped ``deploy/haproxy/haproxy.cfg``,
unchanged, with the addresses it reads from the environment pointing at replicas on 127.0.0.1.

It runs in the foreground (``-db``) with its log (server state changes, one line per request)
in the scenario folder. The state of each server, as the balancer sees it, comes from its stats
page in CSV: ``UP``, ``DOWN``, or a transition such as ``UP 1/2`` (one check failed of the two
that mark it down).
"""

import asyncio
import csv
import io
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tools.chaos.ingress import child_env
from tools.kafka.layout import REPO_ROOT
from tools.process import Child

CONFIG = REPO_ROOT / "deploy" / "haproxy" / "haproxy.cfg"
BACKEND = "ingress"
SERVERS = ("ingress1", "ingress2", "ingress3")  # the server lines of the shipped file
POLL_S = 0.05  # state changes are timed to this


class HaproxyMissing(RuntimeError):
    """No ``haproxy`` on PATH."""


def haproxy_binary() -> str:
    found = shutil.which("haproxy")
    if found is None:
        raise HaproxyMissing("haproxy is not installed: run `make haproxy-tools`")
    return found


@dataclass(frozen=True)
class BalancerSpec:
    port: int
    stats_port: int
    replicas: tuple[str, ...]  # host:port, one per server line

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats_url(self) -> str:
        return f"http://127.0.0.1:{self.stats_port}/stats"

    def env(self) -> dict[str, str]:
        if len(self.replicas) != len(SERVERS):
            raise ValueError(f"the shipped file has {len(SERVERS)} servers: {self.replicas}")
        env = {
            "DATASTREAMS_LB_BIND": f"127.0.0.1:{self.port}",
            "DATASTREAMS_LB_STATS_BIND": f"127.0.0.1:{self.stats_port}",
        }
        for n, address in enumerate(self.replicas, start=1):
            env[f"DATASTREAMS_INGRESS_{n}"] = address
        return env


def server_states(text: str) -> dict[str, str]:
    """Server name -> status, for the backend's servers, from the stats CSV."""
    rows = csv.DictReader(io.StringIO(text.removeprefix("# ")))
    return {
        row["svname"]: row["status"]
        for row in rows
        if row["pxname"] == BACKEND and row["svname"] in SERVERS
    }


class Balancer:
    def __init__(self, spec: BalancerSpec, work: Path, env: Mapping[str, str]) -> None:
        self.spec = spec
        self.log = work / "haproxy.log"
        argv = [haproxy_binary(), "-db", "-f", str(CONFIG)]
        self.child = Child("haproxy", argv, child_env(env) | spec.env(), self.log)

    async def start(self) -> None:
        await self.child.start(self.spec.stats_url)

    async def stop(self) -> int | None:
        return await self.child.stop()

    async def states(self) -> dict[str, str]:
        """Every server's status now; empty when the stats page does not answer."""
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(self.spec.stats_url + ";csv") as r,
            ):
                return server_states(await r.text())
        except (aiohttp.ClientError, OSError):
            return {}

    async def wait_state(
        self, servers: Sequence[str], status: str, since: float, timeout_s: float
    ) -> float | None:
        """Poll until every one of ``servers`` has ``status``; the seconds from ``since`` (a
        monotonic time) until it was seen, None if not within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # polling: the stats page offers no notification
            states = await self.states()
            if all(states.get(s) == status for s in servers):
                return round(time.monotonic() - since, 2)
            await asyncio.sleep(POLL_S)
        return None
