"""The recovery tests' upstreams: the simulator's journal and Marketo API on 127.0.0.1, a switch
that takes the ingress down and up, and ingress settings that name both."""

import asyncio
import io
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ingest.gate import Principal
from ingest.recover.backfill import Backfill, BackfillReport, catalog_of, plan
from ingest.recover.context import Context
from ingest.recover.journal import JournalClient
from ingest.recover.journal_run import JournalReport, JournalRun, JournalStart, cursor_key
from ingest.recover.progress import Progress
from ingest.recover.settings import JournalRegistration, RecoverySettings
from ingest.secrets import ApiToken
from ingest.settings import LimitSettings
from ingest.tenant_settings import Tenant
from pipeline.config import Secret
from pipeline.marketo.client import MarketoClient
from pipeline.marketo.settings import MarketoInstance
from pipeline.publish import Publisher
from tests.support.ingress import Ingress, IngressFactory, ingress_settings
from tools.simulate.events import EventFactory
from tools.simulate.journal_api import IMS_PATH
from tools.simulate.tenants import SimTenant, make_tenants, tenants_toml
from tools.simulate.upstream import Upstream
from tools.simulate.upstream_app import UpstreamApis, identity_url, recovery_toml, rest_url


@dataclass
class Upstreams:
    apis: UpstreamApis
    url: str
    tenants: tuple[SimTenant, ...]

    @property
    def upstream(self) -> Upstream:
        return self.apis.upstream

    def journal(self, tenant: SimTenant, **changes: Any) -> JournalRegistration:
        return JournalRegistration(
            name=f"reg-{tenant.munchkin_id}",
            url=self.apis.journal_url(self.url, tenant),
            org_id=tenant.ims_org,
            client_id=tenant.client_id,
            client_secret=Secret(tenant.client_secret),
            ims_url=self.url + IMS_PATH,
            **{"limit": 50, **changes},
        )

    def marketo(self, tenant: SimTenant, **changes: Any) -> MarketoInstance:
        return MarketoInstance(
            munchkin_id=tenant.munchkin_id,
            identity_url=identity_url(self.url, tenant),
            rest_url=rest_url(self.url, tenant),
            client_id=tenant.rest_client_id,
            client_secret=Secret(tenant.rest_client_secret),
            **{"rate_share": 1.0, "quota_share": 1.0, **changes},
        )


@pytest.fixture
async def upstreams() -> AsyncIterator[Callable[..., Any]]:
    servers: list[TestServer] = []

    async def start(tenants: Sequence[SimTenant], **upstream: Any) -> Upstreams:
        apis = UpstreamApis(Upstream(tenants, **upstream))
        server = TestServer(apis.app(), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return Upstreams(apis, str(server.make_url("")).rstrip("/"), tuple(tenants))

    yield start
    for server in servers:
        await server.close()


def sim_tenants(count: int = 2, seed: int = 16) -> tuple[SimTenant, ...]:
    return make_tenants(count, seed)


FAST = RecoverySettings(retry_initial_s=0.05, retry_max_s=0.5, max_retry_after_s=0.2)


def recovery_overrides(ups: Upstreams, **overrides: Any) -> dict[str, Any]:
    """Settings that admit the simulator's tenants, with a [[journal]] and a [[marketo]] for
    each of them."""
    tenants = tuple(
        Tenant(t.munchkin_id, (ApiToken.from_plain(t.token),), t.client_id) for t in ups.tenants
    )
    return {
        "tenants": tenants,
        "limits": LimitSettings(events_per_s=1e6, events_burst=10**6, deliveries_per_s=1e5),
        "journal": tuple(ups.journal(t) for t in ups.tenants),
        "marketo": tuple(ups.marketo(t) for t in ups.tenants),
        "recovery": FAST,
        **overrides,
    }


async def recovery_ingress(
    make_ingress: IngressFactory, ups: Upstreams, **overrides: Any
) -> Ingress:
    """A running ingress with those settings (for the tests that push through it too)."""
    return await make_ingress(**recovery_overrides(ups, **overrides))


def recovery_context(bootstrap: str, ups: Upstreams, **overrides: Any) -> Context:
    """Those settings without an ingress: what the recovery commands build from the file."""
    return Context.of(
        ingress_settings(bootstrap, "http://127.0.0.1:9", **recovery_overrides(ups, **overrides))
    )


@dataclass
class Switch:
    """A stand-in for the load balancer in front of the ingress: forwards while up, answers 503
    while down (the upstreams retry a 503, and give up after their horizon)."""

    target: str
    up: bool = True
    refused: int = 0
    session: aiohttp.ClientSession | None = field(default=None, repr=False)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    async def _forward(self, request: web.Request) -> web.Response:
        if not self.up:
            self.refused += 1
            return web.Response(status=503)
        if self.session is None:
            self.session = aiohttp.ClientSession()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        async with self.session.request(
            request.method,
            self.target + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as resp:
            body = await resp.read()
            kept = {"Content-Type": resp.headers.get("Content-Type", "text/plain")}
            return web.Response(status=resp.status, body=body, headers=kept)


@pytest.fixture
async def switch() -> AsyncIterator[Callable[[str], Any]]:
    started: list[tuple[TestServer, Switch]] = []

    async def start(target: str) -> tuple[Switch, str]:
        sw = Switch(target)
        server = TestServer(sw.app(), host="127.0.0.1")
        await server.start_server()
        started.append((server, sw))
        return sw, str(server.make_url("")).rstrip("/")

    yield start
    for server, sw in started:
        await server.close()
        if sw.session is not None:
            await sw.session.close()


async def run_journal(
    ctx: Context,
    registration: JournalRegistration,
    start: JournalStart,
    *,
    present_since_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> JournalReport:
    """One registration's run as ``datastreams journal`` makes it, from its stored cursor."""
    key = cursor_key(registration.name)
    stored = (await ctx.cursors.load(key)).get(key)
    async with ctx.publisher() as publisher, aiohttp.ClientSession() as session:
        tenants = ctx.admission.directory.munchkins_by_client[registration.client_id]
        run = JournalRun(
            JournalClient(session, registration),
            Principal.adobe(registration.client_id, tenants),
            await ctx.sink(publisher, present_since_s),
            ctx.cursors,
            ctx.admission.limits,
            ctx.metrics,
            ctx.backoff(forever=start.follow),
            0.1,
            stop or asyncio.Event(),
        )
        return await run.run(start, stored)


async def run_backfill(
    ctx: Context,
    instance: MarketoInstance,
    since: datetime,
    *,
    until: datetime | None = None,
    skip_present: bool = True,
    publisher_of: Callable[[Publisher], Any] = lambda p: p,
    client: MarketoClient | None = None,
) -> BackfillReport:
    """One instance's run as ``datastreams backfill marketo`` makes it, resuming its cursors."""
    async with ctx.publisher() as publisher, aiohttp.ClientSession() as session:
        client = client or MarketoClient(session, instance)
        catalog = await catalog_of(client, ctx.backoff(forever=False))
        sink = await ctx.sink(publisher_of(publisher), since.timestamp() if skip_present else None)
        run = Backfill(
            client,
            Principal.rest(instance.munchkin_id),
            sink,
            ctx.cursors,
            ctx.metrics,
            ctx.backoff(forever=False),
            Progress("test", io.StringIO()),
            since,
            until,
            bulk_poll_s=0.05,
            catalog=catalog,
        )
        end = until or datetime.now(UTC)
        bulk_after = timedelta(seconds=ctx.settings.recovery.bulk_after_s)
        parts = plan(tuple(catalog.names), since, end, bulk_after)
        return await run.run(parts, await ctx.cursors.load(f"marketo:{instance.munchkin_id}:"))


def generate(ups: Upstreams, count: int, via: str, seed: int) -> list[str]:
    """``count`` events of the first tenant, kept by its upstreams as if pushed by ``via``
    (``adobe-io``: its journal, and its activity log for Lead Activity; ``direct-push``: its
    activity log); their envelope ids."""
    tenant = ups.tenants[0]
    factory = EventFactory(random.Random(seed), ups.tenants, lambda: datetime.now(UTC), 40)
    make = factory.adobe_event if via == "adobe-io" else factory.activity
    events = [make(tenant) for _ in range(count)]
    for event in events:
        ups.upstream.record(event, via)
    return [e.id for e in events]


async def prepared(
    bootstrap: str, upstreams: Any, count: int, via: str, seed: int = 7
) -> tuple[Upstreams, list[str], Context]:
    """Upstreams holding ``count`` events, and the configuration to recover them with."""
    ups = await upstreams(sim_tenants())
    ids = generate(ups, count, via, seed)
    return ups, ids, recovery_context(bootstrap, ups)


def config_file(ups: Upstreams, bootstrap: str, path: Path) -> Path:
    """The TOML file an operator would write for these upstreams (fresh topics each time)."""
    lines = [
        "[kafka]",
        f'bootstrap_servers = "{bootstrap}"',
        "[topics]",
        f'prefix = "cmd-{uuid.uuid4().hex[:8]}"',
        "partitions = 2",
        "[recovery]",
        "retry_initial_seconds = 0.05",
        "max_retry_after_seconds = 0.1",
        tenants_toml(ups.tenants),
    ]
    lines.append(recovery_toml(ups.apis, ups.url))
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path
