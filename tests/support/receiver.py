"""A small scriptable receiver for the simulator's tests: records every request and answers
with the statuses a test scripts (per path), echoes challenges, and issues OAuth tokens."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic

import orjson
from aiohttp import web

Script = Callable[[int], int]  # attempt number (0-based) on a path -> status


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> object:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    push_script: Script = lambda n: 200
    adobe_script: Script = lambda n: 200
    echo_challenge: bool = True
    delay_s: float = 0.0  # how long each POST takes to answer
    token_lifetime_s: int = 3600
    requests: list[Received] = field(default_factory=list)
    tokens_issued: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 2**20)
        app.router.add_post("/v1/lead-activity", self._push)
        app.router.add_route("*", "/v1/adobe-io", self._adobe)
        app.router.add_post("/token", self._token)
        return app

    def of(self, method: str, path: str) -> list[Received]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def _record(self, request: web.Request) -> Received:
        received = Received(
            request.method,
            request.path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
            monotonic(),
        )
        self.requests.append(received)
        return received

    async def _answer(self, script: Script, path: str) -> web.Response:
        attempt = len(self.of("POST", path)) - 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.json_response({"attempt": attempt}, status=script(attempt))

    async def _push(self, request: web.Request) -> web.Response:
        await self._record(request)
        return await self._answer(self.push_script, request.path)

    async def _adobe(self, request: web.Request) -> web.Response:
        received = await self._record(request)
        if request.method == "GET":
            value = received.query.get("challenge", "")
            return web.Response(text=value if self.echo_challenge else "nope")
        return await self._answer(self.adobe_script, request.path)

    async def _token(self, request: web.Request) -> web.Response:
        await self._record(request)
        form = await request.post()
        if form.get("grant_type") != "client_credentials" or form.get("client_secret") != "s3cret":
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"token-{len(self.tokens_issued)}"
        self.tokens_issued.append(token)
        return web.json_response({"access_token": token, "expires_in": self.token_lifetime_s})
