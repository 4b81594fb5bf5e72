"""Running the ingress: start, ready, drain, stop.

Shutdown is an argument (``shutdown``, an awaitable that completes when it is time to stop), so
tests pass an ``Event.wait`` and the command line passes the signal handlers'. On shutdown:
/readyz turns 503 first and stays so for ``readiness_grace_s`` (load balancers take the replica
out), then the listener closes, in-flight deliveries get ``drain_timeout_s`` to finish, the Kafka
producer flushes, and one summary line is logged.
"""

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable

from aiohttp import web

from ingest import keys
from ingest.app import RUNNER_OPTIONS, create_app
from ingest.settings import ServerSettings, Settings

log = logging.getLogger(__name__)


def _summary(app: web.Application) -> str:
    """This process' own counts: the counter itself, not the registry, which with several
    processes exposes the host's totals (``ingest.child``)."""
    totals = dict.fromkeys(("accepted", "deadlettered", "rejected"), 0.0)
    for family in app[keys.METRICS].events.collect():
        for sample in family.samples:
            if sample.name == "datastreams_events_total":
                totals[sample.labels["outcome"]] += sample.value
    return " ".join(f"{outcome}={int(total)}" for outcome, total in totals.items())


def tls_context(server: ServerSettings) -> ssl.SSLContext | None:
    """TLS for deployments without termination at a load balancer: TLS 1.2 at least; with a
    client CA, clients are asked for a certificate (Adobe I/O presents one: optional mTLS)."""
    if not server.tls_cert_file or not server.tls_key_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(server.tls_cert_file, server.tls_key_file)
    if server.tls_client_ca_file:
        context.load_verify_locations(server.tls_client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


async def serve(
    settings: Settings,
    shutdown: Awaitable[object],
    *,
    app: web.Application | None = None,
    reuse_port: bool = False,
    on_listening: Callable[[], object] | None = None,
) -> None:
    """Serve ``app`` (by default ``create_app(settings)``) until ``shutdown``; ``reuse_port`` to
    share the port with other processes, ``on_listening`` once the listener is open."""
    app = create_app(settings) if app is None else app
    server = settings.server
    runner = web.AppRunner(
        app,
        shutdown_timeout=server.drain_timeout_s,
        access_log=None,
        keepalive_timeout=server.idle_timeout_s,
        **RUNNER_OPTIONS,
    )
    await runner.setup()
    try:
        site = web.TCPSite(
            runner,
            server.host,
            server.port,
            ssl_context=tls_context(server),
            reuse_port=reuse_port or None,
        )
        await site.start()
        scheme = "https" if server.tls_cert_file else "http"
        log.info("ingress listening on %s://%s:%d", scheme, server.host, server.port)
        if on_listening is not None:
            on_listening()
        await shutdown
        app[keys.DRAINING].set()
        log.info(
            "shutting down: /readyz is 503; closing the listener in %.1f s",
            settings.server.readiness_grace_s,
        )
        await asyncio.sleep(settings.server.readiness_grace_s)
    finally:
        await runner.cleanup()
    log.info("ingress stopped; events %s", _summary(app))
