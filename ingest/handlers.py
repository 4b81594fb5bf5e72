"""The HTTP routes. Each delivery handler reads as the pipeline: authenticate → parse →
normalize → publish → answer with what became of every event."""

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingest import keys
from ingest.auth import (
    check_tenants,
    munchkins_for_recipients,
    tenant_for_push,
)
from ingest.errors import (
    ClientCertificateRequired,
    IngestError,
    InvalidChallenge,
    InvalidDelivery,
    KafkaNotAvailable,
    MalformedJson,
    PayloadTooLarge,
    RequestTimeout,
    TooDeep,
    TooManyEvents,
    UnsupportedMediaType,
    UnusableInput,
    shorten,
)
from ingest.normalize import Outcome, dead_letter, normalize_adobe, normalize_direct_push
from ingest.parse import adobe_items, decode_json, deeper_than, direct_push, validation_url
from ingest.signature import verify_delivery
from ingest.streams.common import format_time
from pipeline.envelope import Stream, Via
from pipeline.errors import PublishError
from pipeline.topics import OutboundRecord, route, route_dead_letter

log = logging.getLogger(__name__)

MAX_CHALLENGE_CHARS = 256
VALIDATION_BODY_MAX = 4096


def utc_now() -> datetime:
    return datetime.now(UTC)


def require_json(request: web.Request) -> None:
    # The direct push's content type is UNCONFIRMED: a missing header is taken as JSON.
    if "Content-Type" not in request.headers:
        return
    ctype = request.content_type
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {shorten(ctype)}")


async def read_body(request: web.Request) -> bytes:
    server = request.app[keys.SETTINGS].server
    limit = server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body of {request.content_length} bytes exceeds {limit} bytes")
    try:
        async with asyncio.timeout(server.body_timeout_s):
            return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"body exceeds {limit} bytes") from exc
    except TimeoutError as exc:
        raise RequestTimeout(f"the body did not arrive within {server.body_timeout_s:g} s") from exc


def received_at(request: web.Request) -> str:
    return format_time(request.app[keys.CLOCK]())


def _tenant_hints(outcome: Outcome) -> Iterable[str | None]:
    yield from (e.munchkinid for e in outcome.envelopes)
    yield from (d.munchkinid for d in outcome.dead_letters)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A delivery ready to publish: its Kafka records and what the metrics and logs need.

    Handlers drop the decoded body and the envelopes once this exists, so a delivery waiting for
    Kafka's acknowledgement holds its serialized records only (about a tenth of the memory).
    """

    records: list[OutboundRecord]
    accepted: Counter[tuple[str, Stream]]  # (munchkin ID, stream) -> events
    dead_letters: list[tuple[str, str | None, str, str]]  # stream, munchkin ID, reason, detail

    @property
    def by_stream(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (_, stream), n in self.accepted.items():
            counts[stream.value] += n
        counts.update(stream for stream, *_ in self.dead_letters)
        return counts


def prepare(app: web.Application, outcome: Outcome) -> Prepared:
    topics = app[keys.TOPICS]
    records = [route(e, topics) for e in outcome.envelopes]
    records += [route_dead_letter(d, topics) for d in outcome.dead_letters]
    return Prepared(
        records=records,
        accepted=Counter((e.munchkinid, e.stream) for e in outcome.envelopes),
        dead_letters=[
            (d.stream.value if d.stream else "unknown", d.munchkinid, d.reason, d.detail)
            for d in outcome.dead_letters
        ],
    )


async def publish(request: web.Request, prepared: Prepared, route_name: str) -> web.Response:
    app = request.app
    metrics = app[keys.METRICS]
    records = prepared.records
    started = perf_counter()
    try:
        await app[keys.PUBLISHER].publish(records)
    except PublishError as exc:
        metrics.publish_latency.labels("error").observe(perf_counter() - started)
        for stream, n in prepared.by_stream.items():
            metrics.events.labels(stream, "rejected").inc(n)
        log.warning("delivery not acknowledged by Kafka (%d records): %s", len(records), exc)
        raise KafkaNotAvailable(
            f"events were not acknowledged by Kafka; retry later ({exc})"
        ) from exc
    metrics.publish_latency.labels("ok").observe(perf_counter() - started)
    metrics.events_per_delivery.labels(route_name).observe(len(records))
    per_stream: Counter[str] = Counter()
    for (tenant, stream), n in prepared.accepted.items():
        # munchkin IDs here passed check_tenants: configured ones only, a closed label set
        metrics.tenant_events.labels(tenant, stream.value).inc(n)
        per_stream[stream.value] += n
    for stream_name, n in per_stream.items():
        metrics.events.labels(stream_name, "accepted").inc(n)
    for stream_name, munchkin, reason, detail in prepared.dead_letters:
        metrics.events.labels(stream_name, "deadlettered").inc()
        log.warning("dead-lettered an event of %s: %s (%s)", munchkin, reason, detail)
    accepted = len(records) - len(prepared.dead_letters)
    return web.json_response({"accepted": accepted, "deadlettered": len(prepared.dead_letters)})


def _dead_letter_body(
    body: bytes, exc: IngestError | UnusableInput, via: Via, at: str, munchkin: str | None
) -> Outcome:
    error = exc if isinstance(exc, UnusableInput) else UnusableInput(exc.code, exc.detail)
    return Outcome(dead_letters=[dead_letter(body, error, via, at, munchkin=munchkin)])


def decode_limited(request: web.Request, body: bytes) -> Any:
    """JSON with a nesting limit; deeper input is refused before anything walks it further."""
    doc = decode_json(body)
    limit = request.app[keys.SETTINGS].server.max_json_depth
    if deeper_than(doc, limit):
        raise TooDeep(f"JSON nests deeper than {limit} levels")
    return doc


def check_count(request: web.Request, count: int) -> None:
    limit = request.app[keys.SETTINGS].server.max_events_per_delivery
    if count > limit:
        raise TooManyEvents(f"{count} events in one delivery; at most {limit}")


async def lead_activity(request: web.Request) -> web.Response:
    """POST /v1/lead-activity: the direct Lead Activity push, authenticated by tenant token."""
    app = request.app
    authorization = request.headers.get("Authorization")
    munchkin = await tenant_for_push(authorization, app[keys.TENANTS], app[keys.OAUTH])
    credential = f"push:{munchkin}"
    app[keys.LIMITER].delivery(credential)
    require_json(request)
    body = await read_body(request)
    prepared = _accept_push(request, body, munchkin, credential)
    del body  # not held while Kafka acknowledges
    return await publish(request, prepared, "lead-activity")


def _accept_push(request: web.Request, body: bytes, munchkin: str, credential: str) -> Prepared:
    at = received_at(request)
    try:
        push = direct_push(decode_limited(request, body))
        check_tenants([push.munchkin_id], frozenset({munchkin}))
        check_count(request, len(push.activities))
        outcome = normalize_direct_push(push.activities, push.munchkin_id or munchkin, at)
    except (MalformedJson, TooDeep, UnusableInput) as exc:
        outcome = _dead_letter_body(body, exc, Via.DIRECT_PUSH, at, munchkin)
    check_tenants(_tenant_hints(outcome), frozenset({munchkin}))
    request.app[keys.LIMITER].events(credential, outcome.count)
    return prepare(request.app, outcome)


def require_client_certificate(request: web.Request) -> None:
    expected = request.app[keys.SETTINGS].adobe_io.client_cert_cn
    if expected is None:
        return
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport else None
    names = [v for rdn in (cert or {}).get("subject", ()) for k, v in rdn if k == "commonName"]
    if expected not in names:
        raise ClientCertificateRequired("a client certificate of Adobe I/O Events is required")


async def adobe_io(request: web.Request) -> web.Response:
    """POST /v1/adobe-io: Adobe I/O Events deliveries of all three streams, signed by Adobe."""
    app = request.app
    require_client_certificate(request)
    require_json(request)
    body = await read_body(request)
    if len(body) <= VALIDATION_BODY_MAX and (url := _validation_url(body)):
        return _log_validation_url(request, url)
    if app[keys.SETTINGS].adobe_io.verify_signatures:
        await verify_delivery(body, request.headers, app[keys.SIGNING_KEYS])
    prepared = _accept_adobe(request, body)
    del body  # not held while Kafka acknowledges
    return await publish(request, prepared, "adobe-io")


def _accept_adobe(request: web.Request, body: bytes) -> Prepared:
    app = request.app
    at = received_at(request)
    try:
        items = adobe_items(decode_limited(request, body))
    except (MalformedJson, TooDeep, UnusableInput) as exc:
        if not app[keys.SETTINGS].adobe_io.verify_signatures:  # nothing authenticated the body
            if isinstance(exc, IngestError):
                raise
            raise InvalidDelivery(exc.detail) from exc
        return prepare(app, _dead_letter_body(body, exc, Via.ADOBE_IO, at, None))
    allowed = munchkins_for_recipients(items, app[keys.TENANTS])
    credential = "adobe:" + ",".join(sorted({item.recipient or "" for item in items}))
    app[keys.LIMITER].delivery(credential)
    check_count(request, len(items))
    default = next(iter(allowed)) if len(allowed) == 1 else None
    outcome = normalize_adobe(items, at, default)
    check_tenants(_tenant_hints(outcome), allowed)
    app[keys.LIMITER].events(credential, outcome.count)
    return prepare(app, outcome)


def _validation_url(body: bytes) -> str | None:
    try:
        return validation_url(decode_json(body))
    except MalformedJson:
        return None


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
