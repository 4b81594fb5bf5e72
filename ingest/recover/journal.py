"""A client of one registration's I/O Events journal (docs/protocol.md).

* Token: OAuth Server-to-Server, ``POST <ims_url>`` with ``grant_type=client_credentials``, the
  client id and secret and the scopes in a form body; cached until a minute before
  ``expires_in``. A 401 from the journal fetches a new one once and asks again.
* ``GET`` with ``Authorization: Bearer``, ``x-api-key`` (the client id) and ``x-ims-org-id``;
  then follow the ``Link rel="next"`` the answer gives (relative to the host), never a URL built
  by hand. ``200`` is a page of ``{"position", "event"}``; ``204`` says nothing is newer (wait
  ``retry-after``); ``410`` says the cursor's events expired.
* 429, 5xx and no answer are ``UpstreamUnavailable`` (retriable); other 4xx ``UpstreamRefused``.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp
import orjson

from ingest.recover.errors import UpstreamRefused, UpstreamUnavailable
from ingest.recover.settings import JournalRegistration

TOKEN_MARGIN_S = 60.0
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-z]+)"?')


@dataclass(frozen=True)
class JournalPage:
    status: int  # 200, 204 or 410
    entries: list[tuple[str, Any]]  # (position, event)
    next_url: str | None
    retry_after_s: float | None = None


def links(header: str | None, base: str) -> dict[str, str]:
    return {rel: urljoin(base, target) for target, rel in _LINK.findall(header or "")}


def _entries(doc: Any) -> list[tuple[str, Any]]:
    events = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(events, list):
        raise UpstreamUnavailable("the journal answered 200 without an events array")
    out = []
    for entry in events:
        if not isinstance(entry, dict) or not isinstance(entry.get("position"), str):
            raise UpstreamUnavailable("a journal entry has no position")
        out.append((entry["position"], entry.get("event")))
    return out


class JournalClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        registration: JournalRegistration,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registration = registration
        self._session = session
        self._clock = clock
        self._token: str | None = None
        self._token_until = 0.0
        self.token_fetches = 0

    def start_url(
        self, *, since: str | None = None, seek: str | None = None, latest: bool = False
    ) -> str:
        """The first request: after ``since``, from ``seek`` ago, at the end, or (none of them)
        at the oldest event kept."""
        params: dict[str, str] = {}
        if since:
            params["since"] = since
        elif seek:
            params["seek"] = seek
        elif latest:
            params["latest"] = "true"
        params["limit"] = str(self.registration.limit)
        return f"{self.registration.url}?{urlencode(params)}"

    async def get(self, url: str) -> tuple[int, JournalPage | None]:
        """The HTTP status and, unless it was a refusal, the page."""
        for _ in range(2):  # a second time only with a fresh token
            status, page = await self._get(url, await self._access_token())
            if status != 401:
                return status, page
            self._token = None
        raise UpstreamRefused("the journal refused two fresh access tokens (HTTP 401)")

    async def _get(self, url: str, token: str) -> tuple[int, JournalPage | None]:
        r = self.registration
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": r.client_id,
            "x-ims-org-id": r.org_id,
        }
        try:
            async with self._session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=r.timeout_s)
            ) as resp:
                body = await resp.read()
                return resp.status, self._page(resp.status, resp.headers, body, url)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamUnavailable(f"the journal did not answer: {type(exc).__name__}") from exc

    def _page(self, status: int, headers: Any, body: bytes, url: str) -> JournalPage | None:
        if status == 401:
            return None
        if status == 429 or status >= 500:
            raise UpstreamUnavailable(f"the journal answered HTTP {status}", _retry_after(headers))
        next_url = links(headers.get("Link"), url).get("next")
        if status == 200:
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise UpstreamUnavailable("the journal answered 200 with broken JSON") from exc
            return JournalPage(200, _entries(doc), next_url)
        if status in (204, 410):
            return JournalPage(status, [], next_url, _retry_after(headers))
        raise UpstreamRefused(f"the journal answered HTTP {status}")

    async def _access_token(self) -> str:
        if self._token is not None and self._clock() < self._token_until:
            return self._token
        r = self.registration
        form = {
            "grant_type": "client_credentials",
            "client_id": r.client_id,
            "client_secret": r.client_secret.reveal(),
            "scope": ",".join(r.scopes),
        }
        try:
            async with self._session.post(
                r.ims_url, data=form, timeout=aiohttp.ClientTimeout(total=r.timeout_s)
            ) as resp:
                status = resp.status
                doc = await resp.json(content_type=None) if status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise UpstreamUnavailable(f"Adobe IMS did not answer: {type(exc).__name__}") from exc
        if status == 429 or status >= 500:
            raise UpstreamUnavailable(f"Adobe IMS answered HTTP {status}")
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise UpstreamRefused(f"Adobe IMS refused the client credentials (HTTP {status})")
        expires_in = doc.get("expires_in") if isinstance(doc, dict) else None
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._token, self._token_until = token, self._clock() + max(0.0, lifetime - TOKEN_MARGIN_S)
        self.token_fetches += 1
        return token


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
