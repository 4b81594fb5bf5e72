"""Typed application keys: every shared object the handlers use, gathered in one place."""

import asyncio
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from ingest.auth import TenantDirectory
from ingest.intake import IntakeLimits
from ingest.limits import InFlight, RateLimiter, Reservation
from ingest.metrics import IngestMetrics
from ingest.oauth import OAuthVerifier
from ingest.settings import Settings
from ingest.signature import PublicKeyCache
from pipeline.publish import Publisher
from pipeline.topics import Topics

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", IngestMetrics)
TOPICS = web.AppKey("topics", Topics)
TENANTS = web.AppKey("tenants", TenantDirectory)
PUBLISHER = web.AppKey("publisher", Publisher)
SIGNING_KEYS = web.AppKey("signing_keys", PublicKeyCache)
DRAINING = web.AppKey("draining", asyncio.Event)
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
OAUTH = web.AppKey("oauth", OAuthVerifier)
LIMITER = web.AppKey("limiter", RateLimiter)
INTAKE_LIMITS = web.AppKey("intake_limits", IntakeLimits)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
# The delivery's place in the in-flight budget (set by the middleware for delivery routes).
RESERVATION = web.RequestKey("reservation", Reservation)
