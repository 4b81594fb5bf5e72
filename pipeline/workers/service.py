"""Running one worker process: start, ready, drain, stop.

``serve_worker(settings, shutdown)`` runs the worker ``settings.kind`` names, as its wing's
``WorkerSpec`` describes it (``registry.py``), and owns every resource in one ``AsyncExitStack``
(closed in reverse order, each only if it started):

1. the publisher (connects in the background; the worker waits until Kafka answers),
2. the output topics of the workers (created if missing, as the wing fits them; then its check),
3. an HTTP client session for the sinks, the handler the wing builds with its sinks,
4. the HTTP endpoint: ``/healthz`` (200 while the loops run, 503 after a fatal error),
   ``/readyz`` (200 once partitions are assigned and restored), ``/metrics``,
5. the effects role's consume loop, when the wing has effects to deliver (``effects/``): its own
   group, ``<group_id>-effects``, started first so that a new group's start at the end of the
   topics comes before the first record the worker decides,
6. the worker's consume loop.

Shutdown is an argument (an awaitable) so tests pass an ``Event.wait``: when it completes, or when
a loop stops on a fatal error, ``/readyz`` turns 503, the loops drain (stop fetching, finish the
batch, release, commit, leave the group; the worker's first, then its effects), then everything
closes and one summary line per loop is logged. Returns the exit status: 0, or 1 after a fatal
error.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import aiohttp
from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipeline.admin import create_missing, wait_writable
from pipeline.consume.loop import ConsumeLoop
from pipeline.marketo.client import MarketoClient
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings, client_options
from pipeline.topics import WorkerTopics, build_worker_topics
from pipeline.workers.effects.handler import EffectsHandler
from pipeline.workers.effects.ledger import Ledger
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.registry import worker_spec
from pipeline.workers.settings import WorkerSettings
from pipeline.workers.spec import Wiring, WorkerSpec

log = logging.getLogger(__name__)

LOOPS = web.AppKey("loops", tuple[ConsumeLoop, ...])
METRICS = web.AppKey("metrics", WorkerMetrics)
ADMIN_TIMEOUT_S = 30.0
FOREVER_S = 365 * 24 * 3600.0


async def healthz(request: web.Request) -> web.Response:
    failure = next((lp.failure for lp in request.app[LOOPS] if lp.failure is not None), None)
    if failure is not None:
        return web.json_response({"status": "failed", "detail": type(failure).__name__}, status=503)
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    if all(lp.ready for lp in request.app[LOOPS]):
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "not_ready"}, status=503)


async def metrics(request: web.Request) -> web.Response:
    resp = web.Response(body=generate_latest(request.app[METRICS].registry))
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return resp


def create_http_app(
    loops: tuple[ConsumeLoop, ...], worker_metrics: WorkerMetrics
) -> web.Application:
    app = web.Application()
    app[LOOPS] = loops
    app[METRICS] = worker_metrics
    app.router.add_get("/healthz", healthz, allow_head=False)
    app.router.add_get("/readyz", readyz, allow_head=False)
    app.router.add_get("/metrics", metrics, allow_head=False)
    return app


async def ensure_outputs(settings: WorkerSettings, spec: WorkerSpec, topics: WorkerTopics) -> None:
    """Create the output topics if allowed, as the worker fits them, then let it check them.
    Every worker creates all the workers' outputs: a reader finds them whichever starts first."""
    admin = AIOKafkaAdminClient(**client_options(settings.kafka))
    await admin.start()
    try:
        outputs = (await spec.fit_outputs(admin, topics)).outputs()
        if settings.topics.create:
            await create_missing(admin, outputs)
        await wait_writable(admin, {t.name for t in outputs}, ADMIN_TIMEOUT_S)
        await spec.check_outputs(admin, topics)
    finally:
        await admin.close()


async def _first(*awaitables: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def serve_worker(
    settings: WorkerSettings,
    shutdown: Awaitable[object],
    *,
    clock: Callable[[], float] = time.time,
    on_ready: Callable[[ConsumeLoop, int], None] | None = None,
    on_effects: Callable[[ConsumeLoop], None] | None = None,
) -> int:
    """Run the worker until ``shutdown`` completes; ``on_ready(loop, http_port)`` and
    ``on_effects(effects_loop)`` for tests."""
    spec = worker_spec(settings.kind)
    name = spec.kind
    worker_metrics = spec.metrics(settings)
    kafka = replace(settings.kafka, client_id=f"{settings.kafka.client_id}-{name}")
    topics = build_worker_topics(settings.topics, kafka.max_record_bytes)
    shutdown_task = asyncio.ensure_future(shutdown)
    async with contextlib.AsyncExitStack() as stack:
        publisher = Publisher(kafka, topics.inputs, create_topics=settings.topics.create)
        await publisher.start()
        stack.push_async_callback(publisher.stop)
        await _first(publisher.wait_ready(FOREVER_S), asyncio.shield(shutdown_task))
        if shutdown_task.done():
            return 0
        await ensure_outputs(settings, spec, topics)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        clients = {m.munchkin_id: MarketoClient(session, m) for m in settings.marketo}
        wiring = Wiring(settings, topics, publisher, session, clients, worker_metrics, clock)
        effects = effects_loop(spec, wiring, kafka)
        loop = ConsumeLoop(
            name=name,
            kafka=kafka,
            settings=settings.consume,
            topics=[t.name for t in spec.inputs(topics)],
            handler=spec.handler(wiring),
            publisher=publisher,
            dead_letter_topic=topics.inputs.dead_letter.name,
            metrics=worker_metrics.consume,
            clock=clock,
        )
        loops = (loop,) if effects is None else (effects, loop)
        worker_metrics.ready.set_function(lambda: float(all(lp.ready for lp in loops)))
        runner = web.AppRunner(create_http_app(loops, worker_metrics), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        port = _bound_port(site, settings.port)
        log.info("%s worker: /metrics and /healthz on %s:%d", name, settings.host, port)
        if effects is not None:
            await effects.start()
            stack.push_async_callback(effects.stop)
            if on_effects is not None:
                on_effects(effects)
            await _first(effects.wait_ready(FOREVER_S), asyncio.shield(shutdown_task))
        await loop.start()
        stack.push_async_callback(loop.stop)
        if on_ready is not None:
            on_ready(loop, port)
        await _first(asyncio.shield(shutdown_task), *(lp.wait_stopped() for lp in loops))
        log.info("%s worker: draining", name)
        await loop.stop()
    shutdown_task.cancel()
    for lp in loops:
        log.info("%s worker stopped; events %s", lp.name, worker_metrics.summary(lp.name))
    return 0 if all(lp.failure is None for lp in loops) else 1


def effects_loop(spec: WorkerSpec, wiring: Wiring, kafka: KafkaSettings) -> ConsumeLoop | None:
    """The effects role's loop, or None when the wing has nothing to deliver to."""
    role = spec.effects(wiring)
    if role is None:
        return None
    name, topics = f"{spec.kind}-effects", wiring.topics
    consume = wiring.settings.consume
    return ConsumeLoop(
        name=name,
        kafka=replace(kafka, client_id=f"{kafka.client_id}-effects"),
        # a new group starts at the end: records decided before the role existed had their
        # effects from the worker itself (or never)
        settings=replace(consume, group_id=f"{consume.group_id}-effects", start_from="latest"),
        topics=[t.name for t in role.inputs],
        handler=EffectsHandler(
            name=name,
            role=role,
            publisher=wiring.publisher,
            dead_letter_topic=topics.sink_dead_letter.name,
            ledger=Ledger(topics.effects_ledger.name, wiring.clock),
            metrics=wiring.metrics,
        ),
        publisher=wiring.publisher,
        dead_letter_topic=topics.inputs.dead_letter.name,
        metrics=wiring.metrics.consume,
        clock=wiring.clock,
    )


def _bound_port(site: web.TCPSite, configured: int) -> int:
    server = site._server  # the listening socket, for port 0 (tests)
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else configured
