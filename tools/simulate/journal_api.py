"""Adobe IMS's token endpoint and the I/O Events Journaling API, over the simulator's journals
(docs/protocol.md).

* ``POST /ims/token/v3`` (form: ``grant_type=client_credentials``, ``client_id``,
  ``client_secret``, ``scope``) → ``{"access_token", "token_type": "bearer", "expires_in"}``.
* ``GET <journal path>`` with ``Authorization: Bearer``, ``x-api-key`` (the client id) and
  ``x-ims-org-id``: ``since`` (exclusive), ``seek`` (a negative ISO 8601 duration), ``latest``,
  ``limit``. ``200`` with ``{"events": [{"position", "event"}], "_page": {"last", "count"}}`` and
  ``Link: <…?since=…>; rel="next"`` (relative to the host), never more than 1.5 MB of events;
  ``204`` with ``retry-after`` and the same ``next`` when nothing is newer; ``410`` for a cursor
  whose events have expired; ``401`` for a missing or expired token.

``faults`` is a queue of statuses to answer instead (429, 500, …), one request each, so a test
can make the upstream fail exactly when it wants.
"""

import secrets
import time
from collections import deque
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from ingest.recover.durations import parse_seek
from tools.simulate.upstream import Journal, JournalEntry, Upstream

MAX_PAGE_BYTES = 1_500_000  # 1.5 MB, whatever the limit
DEFAULT_LIMIT = 100
IMS_PATH = "/ims/token/v3"


def position(entry: JournalEntry) -> str:
    return f"pos-{entry.seq}"


def seq_of(cursor: str) -> int | None:
    number = cursor.removeprefix("pos-")
    return int(number) if cursor.startswith("pos-") and number.isdigit() else None


@dataclass
class JournalApi:
    upstream: Upstream
    token_lifetime_s: float = 24 * 3600.0
    retry_after_s: int = 10
    faults: deque[int] = field(default_factory=deque)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → client, until
    requests: int = 0
    token_grants: int = 0

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(IMS_PATH, self.token)
        app.router.add_get("/events/{tail:.*}", self.journal)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        journal = self.upstream.journals.get(client_id)
        if form.get("grant_type") != "client_credentials" or journal is None:
            return web.json_response({"error": "invalid_client"}, status=400)
        if secret != journal.tenant.client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_hex(16)
        self.tokens[token] = (client_id, time.monotonic() + self.token_lifetime_s)
        self.token_grants += 1
        lifetime = int(self.token_lifetime_s)
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
        )

    def _authorized(self, request: web.Request, journal: Journal) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        client, until = self.tokens.get(token, ("", 0.0))
        return (
            scheme.lower() == "bearer"
            and client == journal.tenant.client_id
            and time.monotonic() < until
            and request.headers.get("x-api-key") == client
            and request.headers.get("x-ims-org-id") == journal.tenant.ims_org
        )

    async def journal(self, request: web.Request) -> web.Response:
        self.requests += 1
        journal = self.upstream.journal_by_path(request.path)
        if journal is None:
            return web.json_response({"error": "no such registration"}, status=404)
        if not self._authorized(request, journal):
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.faults:
            return web.Response(status=self.faults.popleft())
        retained = self.upstream.retained(journal)
        start = self._start(request, journal, retained)
        if isinstance(start, web.Response):
            return start
        return self._page(request, retained, start)

    def _start(
        self, request: web.Request, journal: Journal, retained: list[JournalEntry]
    ) -> int | web.Response:
        """The index in ``retained`` of the first entry to answer, or an error answer."""
        query = request.query
        if "since" in query and "seek" in query:
            return web.json_response({"error": "since and seek exclude each other"}, status=400)
        if query.get("latest") == "true":
            return len(retained)
        if "seek" in query:
            back = parse_seek(query["seek"])
            if back is None:
                return web.json_response({"error": "seek is a negative duration"}, status=400)
            at = self.upstream.clock() - back.total_seconds()
            return next((i for i, e in enumerate(retained) if e.at >= at), len(retained))
        if "since" in query:
            seq = seq_of(query["since"])
            if seq is None:
                return web.json_response({"error": "unknown position"}, status=400)
            oldest = self.upstream.clock() - self.upstream.retention_s
            if any(e.seq > seq and e.at < oldest for e in journal.entries):
                return web.json_response({"error": "the position has expired"}, status=410)
            return next((i for i, e in enumerate(retained) if e.seq > seq), len(retained))
        return 0

    def _page(self, request: web.Request, retained: list[JournalEntry], start: int) -> web.Response:
        limit = _limit(request.query.get("limit"))
        chosen: list[bytes] = []
        size, last = 0, None
        for entry in retained[start : start + limit]:
            part = orjson.dumps({"position": position(entry), "event": entry.event})
            if chosen and size + len(part) > MAX_PAGE_BYTES:
                break
            chosen.append(part)
            size += len(part)
            last = entry
        if last is None:
            cursor = request.query.get("since") or _cursor_before(retained, start)
            headers = {"retry-after": str(self.retry_after_s), "Link": self._links(request, cursor)}
            return web.Response(status=204, headers=headers)
        page = {"last": position(last), "count": len(chosen)}
        body = b'{"events":[' + b",".join(chosen) + b'],"_page":' + orjson.dumps(page) + b"}"
        headers = {"Link": self._links(request, position(last))}
        return web.Response(body=body, content_type="application/json", headers=headers)

    def _links(self, request: web.Request, cursor: str | None) -> str:
        params = [f"since={cursor}"] if cursor else []
        if "limit" in request.query:
            params.append(f"limit={request.query['limit']}")
        query = "?" + "&".join(params) if params else ""
        next_link = f'<{request.path}{query}>; rel="next"'
        return f'{next_link}, <{request.path}/validate{query}>; rel="validate"'


def _limit(text: str | None) -> int:
    if text and text.isdigit() and int(text) > 0:
        return int(text)
    return DEFAULT_LIMIT


def _cursor_before(retained: list[JournalEntry], start: int) -> str | None:
    return position(retained[start - 1]) if start > 0 else None


def journal_url(base_url: str, journal: Journal) -> str:
    return base_url.rstrip("/") + journal.path
