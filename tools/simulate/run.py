"""A simulation from start to summary: the upstream side of every tenant, driven by one clock.

Lifecycle of ``Simulator.run``: start the signing key server and the HTTP client, answer
nothing until each Adobe registration has passed its challenge, generate events for
``duration_s`` (at ``rate_per_s``, or at each upstream's natural cadence), then drain for up to
``drain_s`` (queues empty and retries done), stop every outlet, close the acknowledged-id log
and return the counters. ``shutdown`` ends generation early, as Ctrl-C does on the command line.
"""

import asyncio
import contextlib
import logging
import random
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic
from typing import IO, Any

import aiohttp
from aiohttp import web

from tools.simulate.adobe_io import Registration
from tools.simulate.direct_push import Subscription, stopped_within
from tools.simulate.events import EventFactory, SimEvent
from tools.simulate.http import (
    ClientCredentialsToken,
    Credentials,
    Observer,
    Sender,
    StaticToken,
)
from tools.simulate.settings import SimulatorSettings, validate
from tools.simulate.signing import KeyServer, SigningKey
from tools.simulate.stats import AckLog, PathStats, Progress, summary, to_json
from tools.simulate.tenants import SimTenant, make_tenants
from tools.simulate.upstream import Upstream

log = logging.getLogger(__name__)

TICK_S = 0.05
DIRECT, ADOBE = "direct-push", "adobe-io"


@dataclass(frozen=True)
class SimulationResult:
    elapsed_s: float
    paths: dict[str, PathStats]
    acknowledged_lines: int
    unverified_registrations: int
    paused_subscriptions: int
    pending_events: int
    key_base_url: str

    def text(self) -> str:
        return summary(
            self.paths,
            self.elapsed_s,
            {
                "acknowledged ids written": self.acknowledged_lines,
                "registrations that failed the challenge": self.unverified_registrations,
                "subscriptions paused at the end": self.paused_subscriptions,
                "events still undelivered at the end": self.pending_events,
            },
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Simulator:
    def __init__(
        self,
        settings: SimulatorSettings,
        *,
        out: IO[str] = sys.stderr,
        clock: Callable[[], datetime] = utc_now,
        keys: tuple[SigningKey, SigningKey] | None = None,
        observe: Observer | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.settings = validate(settings)
        # Where the upstreams keep every generated event for the journal and the REST API; None
        # keeps nothing (the benchmark's millions of events).
        self.upstream = upstream
        self.observe = observe
        self.sender: Sender | None = None  # while running
        self.out = out
        self.tenants: tuple[SimTenant, ...] = make_tenants(settings.tenants, settings.seed)
        self.factory = EventFactory(
            random.Random(settings.seed),  # noqa: S311
            self.tenants,
            clock,
            settings.leads,
        )
        self.keys = keys or (SigningKey(), SigningKey())
        self.key_server = KeyServer(*self.keys)
        self.stats: dict[str, PathStats] = {}
        if settings.direct_push:
            self.stats[DIRECT] = PathStats()
        if settings.adobe_io:
            self.stats[ADOBE] = PathStats()
        self.acks = AckLog(settings.ack_file)
        self.subscriptions: list[Subscription] = []
        self.registrations: list[Registration] = []
        self.key_base_url = ""
        self.progress = Progress(self.stats, out)
        self._rng = random.Random(f"mix:{settings.seed}")  # noqa: S311

    # ------------------------------------------------------------------ lifecycle
    async def run(self, shutdown: Awaitable[object] | None = None) -> SimulationResult:
        started = monotonic()
        runner = web.AppRunner(self.key_server.app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", self.settings.key_port)
            await site.start()
            self.key_base_url = _site_url(runner)
            log.info("signing keys served at %s", self.key_base_url)
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0)
            ) as session:
                self.acks.open()
                self.sender = Sender(session, self.observe)
                try:
                    await self._simulate(self.sender, shutdown)
                finally:
                    self.acks.close()
                    self.sender = None
        finally:
            await runner.cleanup()
        return self._result(monotonic() - started)

    async def _simulate(self, sender: Sender, shutdown: Awaitable[object] | None) -> None:
        self._build_outlets(sender)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(s.run(stop)) for s in self.subscriptions]
        tasks += [asyncio.create_task(r.run(stop)) for r in self.registrations]
        progress = asyncio.create_task(self._progress(stop))
        early = asyncio.ensure_future(shutdown) if shutdown is not None else None
        try:
            await self._generate(early)
            await self._drain(early)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for r in self.registrations:
                await r.close()
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
            if early is not None:
                early.cancel()
            self._show_progress()
            if self.out.isatty():
                self.out.write("\n")

    def _build_outlets(self, sender: Sender) -> None:
        s = self.settings
        for n, tenant in enumerate(self.tenants):
            rng = random.Random(f"{s.seed}:{n}")  # noqa: S311
            if s.direct_push:
                credentials = self._credentials(sender, tenant)
                self.subscriptions.append(
                    Subscription(tenant, s, sender, credentials, self.acks, self.stats[DIRECT], rng)
                )
            if s.adobe_io:
                self.registrations.append(
                    Registration(tenant, s, sender, self.keys, self.acks, self.stats[ADOBE], rng)
                )

    def _credentials(self, sender: Sender, tenant: SimTenant) -> Credentials:
        oauth = self.settings.oauth
        if oauth is None:
            return StaticToken(tenant.token, self.settings.push.bearer)
        return ClientCredentialsToken(
            sender,
            oauth.token_url,
            oauth.client_id,
            oauth.client_secret,
            self.settings.push.timeout_s,
        )

    # ------------------------------------------------------------------ generation
    async def _generate(self, early: "asyncio.Future[object] | None") -> None:
        s = self.settings
        deadline = monotonic() + s.duration_s
        next_push = monotonic()
        carry = {DIRECT: 0.0, ADOBE: 0.0}
        last = monotonic()
        while monotonic() < deadline and not (early and early.done()):
            await asyncio.sleep(TICK_S)
            now = monotonic()
            elapsed, last = now - last, now
            if s.rate_per_s is not None:
                share = s.rate_per_s / len(self.stats)
                for path in self.stats:
                    carry[path] += share * elapsed
            else:
                carry[ADOBE] += s.adobe.events_per_s * len(self.registrations) * elapsed
                if now >= next_push:
                    next_push += s.scaled(s.push.interval_s)
                    for sub in self.subscriptions:
                        n = self._rng.randint(s.push.batch_min, s.push.batch_max)
                        sub.offer(self._make(DIRECT, sub.tenant, n))
            self._spread(carry)

    def _spread(self, carry: dict[str, float]) -> None:
        outlets: dict[str, list[Subscription] | list[Registration]] = {
            DIRECT: self.subscriptions,
            ADOBE: self.registrations,
        }
        for path, pending in carry.items():
            targets = outlets[path]
            if not targets or pending < 1:
                continue
            carry[path] = pending - int(pending)
            chosen: dict[int, int] = {}
            for _ in range(int(pending)):
                index = self._rng.randrange(len(targets))
                chosen[index] = chosen.get(index, 0) + 1
            for index, n in chosen.items():
                target = targets[index]
                target.offer(list(self._make(path, target.tenant, n)))

    def _make(self, path: str, tenant: SimTenant, count: int) -> Iterator[SimEvent]:
        stats = self.stats[path]
        for _ in range(count):
            f = self.factory
            event = f.activity(tenant) if path == DIRECT else f.adobe_event(tenant)
            if self._rng.random() < self.settings.malformed:
                event = f.malformed(event)
                stats.malformed += 1
            stats.generated += 1
            if self.upstream is not None:
                self.upstream.record(event, path)
            yield event

    async def _drain(self, early: "asyncio.Future[object] | None") -> None:
        deadline = monotonic() + self.settings.drain_s
        while monotonic() < deadline and not (early and early.done()):
            busy = [s.busy for s in self.subscriptions] + [r.busy for r in self.registrations]
            if not any(busy):
                return
            await asyncio.sleep(TICK_S)

    # ------------------------------------------------------------------ reporting
    async def _progress(self, stop: asyncio.Event) -> None:
        while not await stopped_within(stop, self.settings.progress_interval_s):
            self._show_progress()

    def _show_progress(self) -> None:
        paused = sum(1 for s in self.subscriptions if s.paused)
        self.progress.show(paused, len(self.subscriptions))

    def _result(self, elapsed_s: float) -> SimulationResult:
        pending = sum(s.undelivered for s in self.subscriptions)
        pending += sum(len(r.queue) for r in self.registrations)
        return SimulationResult(
            elapsed_s=elapsed_s,
            paths=self.stats,
            acknowledged_lines=self.acks.lines,
            unverified_registrations=sum(1 for r in self.registrations if r.verified is False),
            paused_subscriptions=sum(1 for s in self.subscriptions if s.paused),
            pending_events=pending,
            key_base_url=self.key_base_url,
        )


def _site_url(runner: web.AppRunner) -> str:
    for address in runner.addresses:
        host, port = address[0], address[1]
        return f"http://{host}:{port}"
    raise RuntimeError("the key server is not listening")


def result_json(result: SimulationResult) -> dict[str, Any]:
    return {
        "elapsed_s": round(result.elapsed_s, 3),
        "paths": to_json(result.paths),
        "acknowledged_lines": result.acknowledged_lines,
        "unverified_registrations": result.unverified_registrations,
        "paused_subscriptions": result.paused_subscriptions,
        "pending_events": result.pending_events,
    }
