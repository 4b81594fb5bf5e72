"""Running the ingress: start, ready, drain, stop.

Shutdown is an argument (``shutdown``, an awaitable that completes when it is time to stop), so
tests pass an ``Event.wait`` and the command line passes the signal handlers'. On shutdown:
/readyz turns 503 first and stays so for ``readiness_grace_s`` (load balancers take the replica
out), then the listener closes, in-flight deliveries get ``drain_timeout_s`` to finish, the Kafka
producer flushes, and one summary line is logged.
"""

import asyncio
import logging
from collections.abc import Awaitable

from aiohttp import web

from ingest import keys
from ingest.app import create_app
from ingest.settings import Settings

log = logging.getLogger(__name__)


def _summary(app: web.Application) -> str:
    registry = app[keys.METRICS].registry
    parts = []
    for outcome in ("accepted", "deadlettered", "rejected"):
        total = sum(
            registry.get_sample_value(
                "datastreams_events_total", {"stream": stream, "outcome": outcome}
            )
            or 0
            for stream in ("lead-activity", "user-audit", "notification", "unknown")
        )
        parts.append(f"{outcome}={int(total)}")
    return " ".join(parts)


async def serve(settings: Settings, shutdown: Awaitable[object]) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=settings.server.drain_timeout_s, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.server.host, settings.server.port)
        await site.start()
        log.info("ingress listening on %s:%d", settings.server.host, settings.server.port)
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
