"""The HTTP routes. Each delivery handler reads as the pipeline: authenticate → read → intake
(parse, normalize, tenant gate) → publish → answer with what became of every event."""

import logging
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingest import keys
from ingest.accounting import Prepared, count_published, count_unacknowledged, prepare
from ingest.auth import principal_for_push
from ingest.body import Body, decoded, read_body
from ingest.errors import (
    IngestError,
    InvalidChallenge,
    InvalidEncoding,
    KafkaNotAvailable,
    shorten,
)
from ingest.gate import UNATTRIBUTED_ADOBE, Outcome
from ingest.guards import require_client_certificate, require_json
from ingest.intake import (
    NOT_DECODED,
    IntakeLimits,
    adobe_outcome,
    decode_limited,
    push_outcome,
    whole_body_letter,
)
from ingest.parse import validation_url
from ingest.signature import verify_delivery
from ingest.streams.common import named_tenant
from pipeline.envelope import Via, format_time
from pipeline.errors import PublishError

log = logging.getLogger(__name__)

MAX_CHALLENGE_CHARS = 256
VALIDATION_BODY_MAX = 4096


def utc_now() -> datetime:
    return datetime.now(UTC)


def received_at(request: web.Request) -> str:
    return format_time(request.app[keys.CLOCK]())


def limits_of(request: web.Request) -> IntakeLimits:
    return request.app[keys.INTAKE_LIMITS]  # built once with the app


async def lead_activity(request: web.Request) -> web.Response:
    """POST /v1/lead-activity: the direct Lead Activity push, authenticated by tenant token."""
    app = request.app
    push = PushBody(request)
    principal = await principal_for_push(
        request.headers.get("Authorization"), app[keys.TENANTS], app[keys.OAUTH], push.named
    )
    app[keys.LIMITER].delivery(principal.credential)
    at = received_at(request)
    try:
        content = await push.content()
    except InvalidEncoding as exc:  # authenticated: kept as sent, not refused
        outcome = whole_body_letter(push.body.wire, exc, Via.DIRECT_PUSH, principal, at)
    else:
        limits, topics = limits_of(request), app[keys.TOPICS]
        outcome = push_outcome(content, principal, limits, at, push.doc, topics=topics)
        # The decoded document (kept when an opaque token needed the tenant it names) is several
        # times the body: not held while the records wait for Kafka.
        push.doc = NOT_DECODED
    app[keys.LIMITER].events(principal.credential, outcome.count)
    return await publish(request, prepare(outcome, app[keys.TOPICS]), "lead-activity")


class PushBody:
    """A push's body, read once: before authentication when an opaque token needs the tenant the
    body names, else after."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._body: Body | None = None
        self._content: bytes | None = None
        self.doc: Any = NOT_DECODED  # the decoded JSON, once a depth-checked decode succeeded

    @property
    def body(self) -> Body:
        if self._body is None:
            raise RuntimeError("the body has not been read")
        return self._body

    async def content(self) -> bytes:
        if self._content is None:
            require_json(self._request)
            self._body = await read_body(self._request)
            self._content = decoded(self._request, self._body)
        return self._content

    async def named(self) -> str | None:
        """The munchkin ID the body names at its top level; None when it names none or cannot be
        read as JSON (an undecodable encoding is a 400: nothing has authenticated it yet)."""
        content = await self.content()
        try:
            doc = decode_limited(content, limits_of(self._request))
        except IngestError:  # unreadable content names no tenant
            return None
        self.doc = doc
        return named_tenant(doc.get("munchkinId")) if isinstance(doc, dict) else None


async def adobe_io(request: web.Request) -> web.Response:
    """POST /v1/adobe-io: Adobe I/O Events deliveries of all three streams, signed by Adobe."""
    app = request.app
    require_client_certificate(request)
    require_json(request)
    body = await read_body(request)
    try:
        content = decoded(request, body)
    except InvalidEncoding as exc:
        return await _undecodable_adobe(request, body, exc)
    limits = limits_of(request)
    # A small body is decoded before authentication, to tell Adobe's challenge apart; intake
    # then uses that decode instead of a second one.
    doc = decoded_small(content, limits)
    if (url := validation_url(doc)) is not None:
        return _log_validation_url(request, url)
    authenticated = await _verify_adobe(request, body, content)
    at = received_at(request)
    outcome = adobe_outcome(
        content, app[keys.TENANTS], limits, at,
        authenticated=authenticated, doc=doc, topics=app[keys.TOPICS],
    )  # fmt: skip
    return await _publish_adobe(request, outcome)


async def _verify_adobe(request: web.Request, body: Body, content: bytes | None) -> bool:
    """True once a signature verifies (401 if none does); False when signatures are off, as
    with mutual TLS, where the bytes themselves are not authenticated."""
    if not request.app[keys.SETTINGS].adobe_io.verify_signatures:
        return False
    await verify_delivery(body.wire, request.headers, request.app[keys.SIGNING_KEYS], content)
    return True


async def _undecodable_adobe(
    request: web.Request, body: Body, exc: InvalidEncoding
) -> web.Response:
    if not await _verify_adobe(request, body, None):
        raise exc
    at = received_at(request)
    outcome = whole_body_letter(body.wire, exc, Via.ADOBE_IO, UNATTRIBUTED_ADOBE, at)
    return await _publish_adobe(request, outcome)


async def _publish_adobe(request: web.Request, outcome: Outcome) -> web.Response:
    app = request.app
    # The rate-limit credential of an Adobe delivery: its registrations, together.
    credential = ",".join(sorted({p.principal.credential for p in outcome.parts})) or "adobe"
    app[keys.LIMITER].delivery(credential)
    app[keys.LIMITER].events(credential, outcome.count)
    return await publish(request, prepare(outcome, app[keys.TOPICS]), "adobe-io")


async def publish(request: web.Request, prepared: Prepared, route_name: str) -> web.Response:
    metrics = request.app[keys.METRICS]
    started = perf_counter()
    try:
        await request.app[keys.PUBLISHER].publish(prepared.records)
    except PublishError as exc:
        count_unacknowledged(metrics, prepared, perf_counter() - started)
        log.warning(
            "delivery not acknowledged by Kafka (%d records): %s", len(prepared.records), exc
        )
        raise KafkaNotAvailable(
            f"events were not acknowledged by Kafka; retry later ({exc})"
        ) from exc
    count_published(metrics, prepared, route_name, perf_counter() - started)
    deadlettered = len(prepared.dead_letters)
    return answer(len(prepared.records) - deadlettered, deadlettered)


def answer(accepted: int, deadlettered: int) -> web.Response:
    """What ``web.json_response({"accepted": .., "deadlettered": ..})`` answers, byte for byte,
    without ``json.dumps`` of a dict (a quarter of the cost of a response, on every delivery)."""
    body = f'{{"accepted": {accepted}, "deadlettered": {deadlettered}}}'.encode()
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def decoded_small(content: bytes, limits: IntakeLimits) -> Any:
    """The decoded content of a body that may be Adobe's challenge; ``NOT_DECODED`` for a larger
    one, or one that does not decode within the limits (intake then says why)."""
    if len(content) > VALIDATION_BODY_MAX:
        return NOT_DECODED
    try:
        return decode_limited(content, limits)
    except IngestError:
        return NOT_DECODED


def _log_validation_url(request: web.Request, url: str) -> web.Response:
    # Adobe's asynchronous challenge: an operator must GET this URL within 5 minutes. It is not
    # an event, so it is never published.
    request.app[keys.METRICS].challenges.labels("async").inc()
    log.warning("Adobe I/O asynchronous validation: GET %s within 5 minutes", shorten(url, 300))
    return web.json_response({"accepted": 0, "deadlettered": 0, "validation": "logged"})


async def challenge(request: web.Request) -> web.Response:
    """GET /v1/adobe-io?challenge=X: echo the challenge so Adobe I/O accepts the registration."""
    value = request.query.get("challenge")
    if value is None:
        return web.Response(status=200, text="")
    if not value or len(value) > MAX_CHALLENGE_CHARS or not value.isprintable():
        raise InvalidChallenge(f"challenge must be 1-{MAX_CHALLENGE_CHARS} printable characters")
    request.app[keys.METRICS].challenges.labels("sync").inc()
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"challenge": value})
    return web.Response(text=value, content_type="text/plain")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    if app[keys.DRAINING].is_set():
        return web.json_response({"status": "draining"}, status=503)
    if not app[keys.PUBLISHER].ready:
        return web.json_response(
            {"status": "not_ready", "detail": "Kafka is not answering or topics are missing"},
            status=503,
        )
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[keys.METRICS].registry
    resp = web.Response(body=generate_latest(registry))
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return resp
