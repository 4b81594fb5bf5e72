"""The application factory: routes, the error middleware and every resource's lifecycle.

Each resource has one owner, a ``cleanup_ctx`` generator: startup before ``yield``, cleanup after,
run in reverse order and only if its startup ran. Nothing starts at import time.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import aiohttp
from aiohttp import web

from ingest import handlers, keys
from ingest.auth import TenantDirectory
from ingest.body import RUNNER_OPTIONS
from ingest.errors import IngestError, MethodNotAllowed, NotFound, PayloadTooLarge
from ingest.intake import IntakeLimits
from ingest.limits import InFlight, RateLimiter, Reservation
from ingest.metrics import IngestMetrics
from ingest.oauth import OAuthVerifier
from ingest.settings import Settings
from ingest.signature import PublicKeyCache
from pipeline.logs import install_redaction
from pipeline.publish import Publisher
from pipeline.topics import build_topics

log = logging.getLogger(__name__)

__all__ = ["RUNNER_OPTIONS", "create_app", "error_response"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DELIVERY_ROUTES = frozenset({"lead-activity", "adobe-io"})
HTTP_ERRORS: dict[int, type[IngestError]] = {
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def error_response(error: IngestError) -> web.Response:
    headers = {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    return web.json_response(
        {"error": error.code, "detail": error.detail}, status=error.status, headers=headers
    )


def route_name(request: web.Request) -> str:
    name = request.match_info.route.name
    return name if name else "other"


def _translate(exc: web.HTTPException) -> IngestError:
    kind = HTTP_ERRORS.get(exc.status)
    if kind is not None:
        return kind(exc.reason)
    error = IngestError(exc.reason)
    error.status = exc.status
    return error


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = route_name(request)
    try:
        if route in DELIVERY_ROUTES:
            reservation = _reserve(request)
            try:
                response = await handler(request)
            finally:
                reservation.release()
        else:
            response = await handler(request)
    except IngestError as error:
        response = _reject(request, route, error)
    except web.HTTPException as exc:
        response = _reject(request, route, _translate(exc))
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.rel_url.raw_path)
        response = error_response(IngestError("internal error; the delivery was not accepted"))
    request.app[keys.METRICS].requests_by[route, str(response.status)].inc()
    return response


def _reserve(request: web.Request) -> Reservation:
    app = request.app
    # A body without Content-Length (chunked) is counted at the largest size it may reach; a
    # compressed one grows its reservation to its decoded size (ingest.body).
    size = request.content_length or app[keys.SETTINGS].server.max_body_bytes
    # Sheds with 503 when full: never queue without bound.
    reservation = request[keys.RESERVATION] = app[keys.IN_FLIGHT].reserve(size)
    return reservation


def _reject(request: web.Request, route: str, error: IngestError) -> web.Response:
    metrics = request.app[keys.METRICS]
    if error.status in (401, 403):
        metrics.auth_failures.labels(route, error.code).inc()
    elif error.status in (408, 413, 429) or error.code == "overloaded":
        metrics.limited.labels(route, error.code).inc()
    # The path as sent (percent-encoded): decoded, "%0d%0a" in it would forge a log line.
    log.info("%s %s -> %d %s", request.method, request.rel_url.raw_path, error.status, error.code)
    return error_response(error)


async def publisher_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    publisher = Publisher(settings.kafka, app[keys.TOPICS], create_topics=settings.topics.create)
    app[keys.PUBLISHER] = publisher
    app[keys.METRICS].kafka_ready.set_function(lambda: float(publisher.ready))
    await publisher.start()
    yield
    await publisher.stop()


async def http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    """One HTTP client for the outbound calls: Adobe's signing keys and the identity providers."""
    settings = app[keys.SETTINGS]
    adobe = settings.adobe_io
    metrics = app[keys.METRICS]
    async with aiohttp.ClientSession() as session:
        app[keys.SIGNING_KEYS] = PublicKeyCache(
            session,
            adobe.public_key_base_url,
            adobe.key_cache_ttl_s,
            adobe.key_fetch_timeout_s,
            on_result=lambda result: metrics.signing_keys_by[result,].inc(),
        )
        app[keys.OAUTH] = OAuthVerifier(session, settings.tenants, settings.oauth)
        yield


def create_app(
    settings: Settings, *, clock: Callable[[], datetime] = handlers.utc_now
) -> web.Application:
    """The ingress application. Run it with ``RUNNER_OPTIONS`` (the app decodes bodies itself)."""
    install_redaction()  # aiohttp logs hostile header lines, credentials included
    app = web.Application(
        middlewares=[errors_and_metrics], client_max_size=settings.server.max_body_bytes
    )
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.METRICS] = metrics = IngestMetrics.create(t.munchkin_id for t in settings.tenants)
    app[keys.TOPICS] = build_topics(settings.topics, settings.kafka.max_record_bytes)
    app[keys.TENANTS] = TenantDirectory.from_tenants(settings.tenants)
    app[keys.DRAINING] = asyncio.Event()
    app[keys.LIMITER] = RateLimiter(settings.limits)
    app[keys.INTAKE_LIMITS] = IntakeLimits.of(settings.server)
    app[keys.IN_FLIGHT] = in_flight = InFlight(
        settings.server.max_concurrent_deliveries, settings.server.max_in_flight_body_bytes
    )
    metrics.in_flight.set_function(lambda: float(in_flight.count))
    app.cleanup_ctx.append(http_client_ctx)
    app.cleanup_ctx.append(publisher_ctx)
    app.router.add_post("/v1/lead-activity", handlers.lead_activity, name="lead-activity")
    app.router.add_post("/v1/adobe-io", handlers.adobe_io, name="adobe-io")
    app.router.add_get("/v1/adobe-io", handlers.challenge, name="challenge", allow_head=False)
    app.router.add_get("/healthz", handlers.healthz, name="health", allow_head=False)
    app.router.add_get("/readyz", handlers.readyz, name="ready", allow_head=False)
    app.router.add_get("/metrics", handlers.metrics, name="metrics", allow_head=False)
    return app
