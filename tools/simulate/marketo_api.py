"""Marketo's identity and REST API for each simulated instance, over its activity log
(docs/protocol.md), under ``/<munchkin id>/identity``, ``/<munchkin id>/rest`` and
``/<munchkin id>/bulk``.

Marketo's answers and limits: errors are HTTP 200 with ``{"success": false, "errors": [...]}``:
601 (unknown token), 602 (expired token), 606 (more than ``calls_per_window`` calls in
``window_s``), 607 (the daily quota spent), 615 (more than ``concurrency`` calls at once), 1003
(more than 10 activity type ids, or a bulk range over 31 days). A page scans 300 activities of
every type and returns those of the asked types, so it can be empty while ``moreResult`` is
true. ``faults`` is a queue of error codes (``"606"``) or HTTP statuses (``"503"``) to answer
instead, one call each. Bulk extract jobs (``bulk.py``) complete after ``bulk_polls`` status
calls.
"""

import asyncio
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tools.simulate.marketo_bulk import BulkJobs
from tools.simulate.upstream import DELETE_LEAD, LoggedActivity, Upstream, types_result

PAGE_SIZE = 300
MAX_TYPE_IDS = 10


def error(code: str, message: str) -> web.Response:
    return web.json_response(
        {"requestId": "sim", "success": False, "errors": [{"code": code, "message": message}]}
    )


def success(**fields: Any) -> web.Response:
    return web.json_response({"requestId": "sim", "success": True, **fields})


def epoch(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


@dataclass
class MarketoApi:
    upstream: Upstream
    token_lifetime_s: float = 3600.0
    calls_per_window: int = 100
    window_s: float = 20.0
    concurrency: int = 10
    daily_quota: int = 50_000
    bulk_polls: int = 1
    call_delay_s: float = 0.0  # each call's service time, so a run can be caught midway
    faults: deque[str] = field(default_factory=deque)
    calls: Counter[str] = field(default_factory=Counter)  # REST and bulk calls per instance
    token_grants: int = 0
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _starts: dict[str, deque[float]] = field(default_factory=dict)
    _active: Counter[str] = field(default_factory=Counter)
    bulk: BulkJobs = field(init=False)

    def __post_init__(self) -> None:
        self.bulk = BulkJobs(self.upstream, self.bulk_polls)

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_route("*", "/{munchkin}/identity/oauth/token", self.token)
        r.add_get("/{munchkin}/rest/v1/activities/types.json", self._limited(self.types))
        r.add_get("/{munchkin}/rest/v1/activities/pagingtoken.json", self._limited(self.paging))
        r.add_get("/{munchkin}/rest/v1/activities.json", self._limited(self.activities))
        r.add_get("/{munchkin}/rest/v1/activities/deletedleads.json", self._limited(self.deleted))
        self.bulk.add_routes(r, self._limited)

    async def token(self, request: web.Request) -> web.Response:
        munchkin = request.match_info["munchkin"]
        tenant = self.upstream.tenants.get(munchkin)
        form = {**request.query, **(await request.post())}
        ok = (
            tenant is not None
            and form.get("grant_type") == "client_credentials"
            and form.get("client_id") == tenant.rest_client_id
            and form.get("client_secret") == tenant.rest_client_secret
        )
        if not ok:
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_hex(16)
        self.tokens[token] = (munchkin, time.monotonic() + self.token_lifetime_s)
        self.token_grants += 1
        return web.json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(self.token_lifetime_s),
                "scope": "apis@sim",
            }
        )

    def _limited(self, handler: Any) -> Any:
        async def call(request: web.Request) -> web.StreamResponse:
            munchkin = request.match_info["munchkin"]
            refused = self._refusal(request, munchkin)
            if refused is not None:
                return refused
            self._active[munchkin] += 1
            try:
                await asyncio.sleep(self.call_delay_s)  # overlapping, as real calls do
                response: web.StreamResponse = await handler(request, munchkin)
                return response
            finally:
                self._active[munchkin] -= 1

        return call

    def _refusal(self, request: web.Request, munchkin: str) -> web.StreamResponse | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        owner, until = self.tokens.get(token, ("", 0.0))
        if scheme.lower() != "bearer" or owner != munchkin:
            return error("601", "Access token invalid")
        if time.monotonic() >= until:
            return error("602", "Access token expired")
        self.calls[munchkin] += 1
        if self.faults:
            fault = self.faults.popleft()
            return (
                error(fault, "injected")
                if len(fault) == 3 and fault[0] == "6"
                else (web.Response(status=int(fault)))
            )
        if self.calls[munchkin] > self.daily_quota:
            return error("607", "Daily quota reached")
        starts = self._starts.setdefault(munchkin, deque())
        now = time.monotonic()
        while starts and now - starts[0] >= self.window_s:
            starts.popleft()
        if len(starts) >= self.calls_per_window:
            return error("606", "Max rate limit exceeded")
        starts.append(now)
        if self._active[munchkin] >= self.concurrency:
            return error("615", "Concurrent access limit reached")
        return None

    async def types(self, request: web.Request, munchkin: str) -> web.Response:
        return success(result=types_result())

    async def paging(self, request: web.Request, munchkin: str) -> web.Response:
        since = epoch(request.query.get("sinceDatetime", ""))
        if since is None:
            return error("1001", "sinceDatetime is not a date-time")
        log = self.upstream.logs[munchkin]
        index = next((i for i, a in enumerate(log) if a.at >= since), len(log))
        return success(nextPageToken=f"tok-{index}")

    async def activities(self, request: web.Request, munchkin: str) -> web.Response:
        raw = request.query.get("activityTypeIds", "")
        ids = {int(x) for x in raw.split(",") if x.strip().isdigit()}
        if not ids or len(ids) > MAX_TYPE_IDS:
            return error("1003", f"activityTypeIds: 1 to {MAX_TYPE_IDS} ids")
        return self._scan(request, munchkin, lambda a: a.record["activityTypeId"] in ids - {37})

    async def deleted(self, request: web.Request, munchkin: str) -> web.Response:
        return self._scan(request, munchkin, lambda a: a.record["activityTypeId"] == DELETE_LEAD)

    def _scan(self, request: web.Request, munchkin: str, keep: Any) -> web.Response:
        token = request.query.get("nextPageToken", "")
        number = token.removeprefix("tok-")
        if not token.startswith("tok-") or not number.isdigit():
            return error("1001", "nextPageToken is invalid")
        log: list[LoggedActivity] = self.upstream.logs[munchkin]
        start = int(number)
        scanned = log[start : start + PAGE_SIZE]
        end = start + len(scanned)
        fields: dict[str, Any] = {"nextPageToken": f"tok-{end}", "moreResult": end < len(log)}
        result = [a.record for a in scanned if keep(a)]
        if result:  # Marketo leaves "result" out of an empty page
            fields["result"] = result
        return success(**fields)
