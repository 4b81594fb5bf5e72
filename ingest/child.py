"""One of several ingress processes sharing a port (``server.processes`` above 1).

The supervisor (``ingest.supervisor``) starts it with the parent's settings and one end of a pipe.
It is a whole ingress of its own: its app, its Kafka producer, its readiness (``/readyz`` answers
for this process only), its drain on SIGTERM. It binds the port with ``SO_REUSEPORT``, so the
kernel spreads new connections over the processes. It says "listening" on the pipe once its
listener is open, and stops as on SIGTERM if the pipe closes (the supervisor is gone: no orphan
keeps serving).

Metrics: prometheus_client's multiprocess mode. The supervisor names a fresh directory in
``PROMETHEUS_MULTIPROC_DIR`` before starting the processes, so every metric here writes its
values to a file of this process there; ``/metrics``, whichever process answers it, reads them
all. Counters and histograms are the host's sums (a restarted process' counts stay in), gauges
have one series per live process (a ``pid`` label). The two gauges that read a value when scraped
(Kafka ready, deliveries in flight) cannot do so for other processes: each process writes its own
every ``GAUGE_REFRESH_S``.
"""

import asyncio
import contextlib
import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Awaitable
from multiprocessing.connection import Connection

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from ingest import keys
from ingest.app import create_app
from ingest.server import serve
from ingest.settings import Settings
from pipeline.logs import configure_logging
from pipeline.runtime import serve_until_signalled

LISTENING = "listening"
GAUGE_REFRESH_S = 1.0

log = logging.getLogger(__name__)


def share_metrics(app: web.Application) -> None:
    """``/metrics`` serves every process' values (from ``PROMETHEUS_MULTIPROC_DIR``)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    app[keys.METRICS] = dataclasses.replace(app[keys.METRICS], registry=registry)
    app.cleanup_ctx.append(_gauges_ctx)


async def _gauges_ctx(app: web.Application) -> AsyncIterator[None]:
    metrics, publisher, in_flight = app[keys.METRICS], app[keys.PUBLISHER], app[keys.IN_FLIGHT]

    async def refresh() -> None:
        while True:
            metrics.kafka_ready.set(float(publisher.ready))
            metrics.in_flight.set(float(in_flight.count))
            await asyncio.sleep(GAUGE_REFRESH_S)

    task = asyncio.create_task(refresh(), name="metrics-gauges")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _signalled_or_orphaned(signalled: Awaitable[object], supervisor: Connection) -> None:
    """Completes at SIGTERM/SIGINT, or when the supervisor's end of the pipe closes (it never
    writes, so readable means closed)."""
    loop = asyncio.get_running_loop()
    orphaned = asyncio.Event()
    loop.add_reader(supervisor.fileno(), orphaned.set)
    waits = [asyncio.ensure_future(signalled), asyncio.ensure_future(orphaned.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_reader(supervisor.fileno())
        for waiting in waits:
            waiting.cancel()
    if orphaned.is_set():
        log.warning("the supervisor is gone: stopping")


def run_child(settings: Settings, index: int, supervisor: Connection) -> None:
    """The process' entry point (``multiprocessing``'s target): serve until told to stop."""
    tag = f"ingress {index}/{settings.server.processes} pid {os.getpid()}"
    configure_logging(settings.server.log_level, tag)

    async def serve_child(signalled: Awaitable[object]) -> None:
        app = create_app(settings)
        share_metrics(app)
        await serve(
            settings,
            _signalled_or_orphaned(signalled, supervisor),
            app=app,
            reuse_port=True,
            on_listening=lambda: supervisor.send(LISTENING),
        )

    try:
        serve_until_signalled(serve_child)
    except Exception:
        # Logged, so redacted like every line; the supervisor reads the exit status.
        log.exception("ingress process %d failed", index)
        raise SystemExit(1) from None
