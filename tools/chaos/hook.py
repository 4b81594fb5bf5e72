"""The idempotent webhook receiver of the worker-crash scenario: every POST verified with the
Standard Webhooks library's own verifier, every arrival counted, each ``webhook-id`` acted on
once. What it saw is compared with the alerts an uninterrupted run fires (``effects.py``)."""

import base64
import os
from collections import Counter

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


class Hook:
    def __init__(self, secret: str) -> None:
        self._verifier = Webhook(secret)
        self.arrivals: Counter[str] = Counter()  # webhook-id → POSTs answered 200
        self.forged = 0
        self._runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            self._verifier.verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.forged += 1
            return web.Response(status=400)
        self.arrivals[request.headers["webhook-id"]] += 1
        return web.Response(text="ok")

    async def start(self) -> str:
        """Serve on a free loopback port; the URL to post to."""
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
