"""The simulator's HTTP edge: one client session, and the credentials the direct push presents.

A timeout, a refused connection or a broken response is reported as status ``None``: the
upstreams treat them all as "no response".
"""

import logging
import time
from collections.abc import Callable
from typing import Protocol

import aiohttp

log = logging.getLogger(__name__)

EXPIRY_MARGIN = 0.9  # refresh an OAuth token after 90 % of its lifetime

# (sent at, answered at, status or None), monotonic seconds: lets a fault test tell answers to
# requests sent before a fault from those sent after it.
Observer = Callable[[float, float, int | None], None]


class Sender:
    def __init__(self, session: aiohttp.ClientSession, observe: Observer | None = None) -> None:
        self.session = session
        self._observe = observe
        self.in_flight = 0  # POSTs sent and not answered yet

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> int | None:
        sent = time.monotonic()
        self.in_flight += 1
        try:
            status = await self._post(url, body, headers, timeout_s)
        finally:
            self.in_flight -= 1
        if self._observe is not None:
            self._observe(sent, time.monotonic(), status)
        return status

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> int | None:
        try:
            async with self.session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as resp:
                await resp.read()
                return resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.debug("POST %s failed: %s", url, type(exc).__name__)
            return None

    async def challenge(self, url: str, value: str, timeout_s: float) -> tuple[int, str, str]:
        """GET ``url?challenge=value``: the status, content type and body (0 on no answer)."""
        try:
            async with self.session.get(
                url,
                params={"challenge": value},
                headers={"user-agent": "Adobe/1.0"},
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                return resp.status, resp.content_type, await resp.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return 0, "", type(exc).__name__


class Credentials(Protocol):
    async def authorization(self) -> str | None: ...

    def rejected(self) -> None: ...


class StaticToken:
    def __init__(self, token: str, bearer: bool) -> None:
        self._value = f"Bearer {token}" if bearer else token

    async def authorization(self) -> str | None:
        return self._value

    def rejected(self) -> None:
        pass


class ClientCredentialsToken:
    """OAuth 2.0 client credentials (docs/protocol.md): a cached access token,
    fetched again when absent, expired, or refused with 401."""

    def __init__(
        self, sender: Sender, token_url: str, client_id: str, secret: str, timeout_s: float
    ) -> None:
        self._sender = sender
        self._url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetches = 0

    async def authorization(self) -> str | None:
        if self._token is None or time.monotonic() >= self._expires_at:
            await self._fetch()
        return None if self._token is None else f"Bearer {self._token}"

    def rejected(self) -> None:
        self._token = None

    async def _fetch(self) -> None:
        self.fetches += 1
        self._token = None
        try:
            async with self._sender.session.post(
                self._url, data=self._form, timeout=self._timeout
            ) as resp:
                doc = await resp.json(content_type=None) if resp.status == 200 else {}
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            log.warning("token endpoint %s failed: %s", self._url, type(exc).__name__)
            return
        token, lifetime = doc.get("access_token"), doc.get("expires_in", 3600)
        if isinstance(token, str) and isinstance(lifetime, int | float):
            self._token = token
            self._expires_at = time.monotonic() + lifetime * EXPIRY_MARGIN
