"""Running one worker process: start, ready, drain, stop.

``serve_worker(settings, shutdown)`` owns every resource in one ``AsyncExitStack`` (closed in
reverse order, each only if it started):

1. the publisher (connects in the background; the worker waits until Kafka answers),
2. the output topics (created if missing; lead-scores must have lead-activity's partition count),
3. an HTTP client session for the sinks, the handler (alerting or scoring),
4. the HTTP endpoint: ``/healthz`` (200 while the loop runs, 503 after a fatal error),
   ``/readyz`` (200 once partitions are assigned and restored), ``/metrics``,
5. the consume loop.

Shutdown is an argument (an awaitable) so tests pass an ``Event.wait``: when it completes, or when
the loop stops on a fatal error, ``/readyz`` turns 503, the loop drains (stop fetching, finish the
batch, release, commit, leave the group), then everything closes and one summary line is logged.
Returns the exit status: 0, or 1 after a fatal error.
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

from pipeline.admin import create_missing, partitions_of, wait_writable
from pipeline.consume.handler import Handler
from pipeline.consume.loop import ConsumeLoop
from pipeline.publish import Publisher
from pipeline.settings import client_options
from pipeline.topics import Topic, WorkerTopics, build_worker_topics
from pipeline.workers.alerting.handler import AlertingHandler
from pipeline.workers.alerting.sinks import (
    AlertSink,
    LogSink,
    MarketoListSink,
    MarketoScoreSink,
    WebhookSink,
)
from pipeline.workers.errors import PartitioningError
from pipeline.workers.marketo import MarketoClient
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.settings import WorkerSettings

log = logging.getLogger(__name__)

LOOP = web.AppKey("loop", ConsumeLoop)
METRICS = web.AppKey("metrics", WorkerMetrics)
ADMIN_TIMEOUT_S = 30.0
FOREVER_S = 365 * 24 * 3600.0


async def healthz(request: web.Request) -> web.Response:
    failure = request.app[LOOP].failure
    if failure is not None:
        return web.json_response({"status": "failed", "detail": type(failure).__name__}, status=503)
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    if request.app[LOOP].ready:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "not_ready"}, status=503)


async def metrics(request: web.Request) -> web.Response:
    resp = web.Response(body=generate_latest(request.app[METRICS].registry))
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return resp


def create_http_app(loop: ConsumeLoop, worker_metrics: WorkerMetrics) -> web.Application:
    app = web.Application()
    app[LOOP] = loop
    app[METRICS] = worker_metrics
    app.router.add_get("/healthz", healthz, allow_head=False)
    app.router.add_get("/readyz", readyz, allow_head=False)
    app.router.add_get("/metrics", metrics, allow_head=False)
    return app


async def ensure_outputs(settings: WorkerSettings, topics: WorkerTopics) -> None:
    """Create the output topics if allowed; check that scores are co-partitioned with leads."""
    admin = AIOKafkaAdminClient(**client_options(settings.kafka))
    await admin.start()
    try:
        outputs: tuple[Topic, ...] = topics.outputs()
        if settings.kind == "scoring":
            leads = await partitions_of(admin, topics.inputs.lead_activity.name)
            if leads:  # the changelog must follow lead-activity's partition count
                outputs = (topics.alerts, replace(topics.lead_scores, partitions=len(leads)))
        if settings.topics.create:
            await create_missing(admin, outputs)
        await wait_writable(admin, {t.name for t in outputs}, ADMIN_TIMEOUT_S)
        if settings.kind == "scoring":
            leads = await partitions_of(admin, topics.inputs.lead_activity.name)
            scores = await partitions_of(admin, topics.lead_scores.name)
            if leads and len(leads) != len(scores):
                raise PartitioningError(
                    f"{topics.lead_scores.name} has {len(scores)} partitions and "
                    f"{topics.inputs.lead_activity.name} {len(leads)}: they must be equal"
                )
    finally:
        await admin.close()


def build_handler(
    settings: WorkerSettings,
    topics: WorkerTopics,
    publisher: Publisher,
    session: aiohttp.ClientSession,
    worker_metrics: WorkerMetrics,
    clock: Callable[[], float],
) -> tuple[Handler, list[str]]:
    """The handler for ``settings.kind`` and the topics it consumes."""
    clients = {m.munchkin_id: MarketoClient(session, m) for m in settings.marketo}
    if settings.alerting is not None:
        a = settings.alerting
        sinks: list[AlertSink] = [LogSink(worker_metrics)] if a.log_alerts else []
        if a.webhook.url is not None:
            sinks.append(WebhookSink(session, a.webhook, worker_metrics))
        if clients:
            sinks.append(MarketoListSink(clients, worker_metrics))
        handler: Handler = AlertingHandler(
            rules=a.rules,
            alerts_topic=topics.alerts.name,
            publisher=publisher,
            sinks=sinks,
            metrics=worker_metrics,
            max_keys_per_rule=a.max_keys_per_rule,
            restore_horizon_s=a.restore_horizon_s,
            clock=clock,
        )
        inputs = topics.inputs
        return handler, [
            inputs.lead_activity.name,
            inputs.user_audit.name,
            inputs.notification.name,
        ]
    assert settings.scoring is not None
    s = settings.scoring
    pusher = MarketoScoreSink(clients, s.push_field, worker_metrics) if s.push_to_marketo else None
    handler = ScoringHandler(
        model=s.model,
        emit_threshold=s.emit_threshold,
        checkpoint_interval_s=s.checkpoint_interval_s,
        scores_topic=topics.lead_scores.name,
        publisher=publisher,
        metrics=worker_metrics,
        pusher=pusher,
        clock=clock,
    )
    return handler, [topics.inputs.lead_activity.name]


async def _first(*awaitables: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def summary(worker_metrics: WorkerMetrics, name: str) -> str:
    registry = worker_metrics.registry
    parts = []
    for outcome in ("handled", "duplicate", "deadlettered"):
        n = registry.get_sample_value(
            "datastreams_worker_events_total", {"worker": name, "outcome": outcome}
        )
        parts.append(f"{outcome}={int(n or 0)}")
    for metric in ("datastreams_worker_alerts_total", "datastreams_worker_scores_total"):
        total = sum(s.value for m in registry.collect() for s in m.samples if s.name == metric)
        parts.append(f"{metric.split('_')[2]}={int(total)}")
    return " ".join(parts)


async def serve_worker(
    settings: WorkerSettings,
    shutdown: Awaitable[object],
    *,
    clock: Callable[[], float] = time.time,
    on_ready: Callable[[ConsumeLoop, int], None] | None = None,
) -> int:
    """Run the worker until ``shutdown`` completes; ``on_ready(loop, http_port)`` for tests."""
    name = settings.kind
    rules = settings.alerting.rules.rules if settings.alerting else ()
    worker_metrics = WorkerMetrics.create((r.id, r.severity.value) for r in rules)
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
        await ensure_outputs(settings, topics)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        handler, inputs = build_handler(settings, topics, publisher, session, worker_metrics, clock)
        loop = ConsumeLoop(
            name=name,
            kafka=kafka,
            settings=settings.consume,
            topics=inputs,
            handler=handler,
            publisher=publisher,
            dead_letter_topic=topics.inputs.dead_letter.name,
            metrics=worker_metrics.consume,
            clock=clock,
        )
        worker_metrics.ready.set_function(lambda: float(loop.ready))
        runner = web.AppRunner(create_http_app(loop, worker_metrics), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        port = _bound_port(site, settings.port)
        log.info("%s worker: /metrics and /healthz on %s:%d", name, settings.host, port)
        await loop.start()
        stack.push_async_callback(loop.stop)
        if on_ready is not None:
            on_ready(loop, port)
        await _first(asyncio.shield(shutdown_task), loop.wait_stopped())
        log.info("%s worker: draining", name)
        await loop.stop()
    shutdown_task.cancel()
    log.info("%s worker stopped; events %s", name, summary(worker_metrics, name))
    return 0 if loop.failure is None else 1


def _bound_port(site: web.TCPSite, configured: int) -> int:
    server = site._server  # the listening socket, for port 0 (tests)
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else configured
