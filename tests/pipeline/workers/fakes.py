"""Fake HTTP peers of the workers: Marketo's REST API and a Slack-compatible webhook.

Both are real aiohttp applications served on a local port; they check what a real peer checks
(credentials, bearer tokens, body shapes) and can be scripted to fail, so sink tests can fail.
``instance`` points a Marketo instance at the fake; ``sample`` reads what the sinks counted.
"""

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from pipeline.marketo.settings import MarketoInstance
from pipeline.secrets import Secret
from pipeline.workers.metrics import WorkerMetrics
from tests.pipeline.events import MUNCHKIN

CLIENT_ID = "marketo-client-id"
CLIENT_SECRET = "marketo-client-secret-0123456789"


def instance(base: str, secret: str = CLIENT_SECRET) -> MarketoInstance:
    return MarketoInstance(
        munchkin_id=MUNCHKIN,
        identity_url=f"{base}/identity",
        rest_url=f"{base}/rest",
        client_id=CLIENT_ID,
        client_secret=Secret(secret),
        lists={"followup": 1001},
        max_attempts=3,
        retry_initial_s=0.01,
    )


def sample(metrics: WorkerMetrics, sink: str, result: str) -> float:
    labels = {"sink": sink, "result": result}
    return (
        metrics.registry.get_sample_value("datastreams_worker_sink_deliveries_total", labels) or 0
    )


@dataclass
class FakeMarketo:
    """Identity: ``POST /identity/oauth/token``; REST: lists and sync leads under ``/rest``."""

    leads: set[int] = field(default_factory=lambda: set(range(1, 10_000)) | {884201, 884202})
    lists: dict[int, set[int]] = field(default_factory=dict)
    fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    # scripted failures for the next REST calls: an HTTP status (int) or a Marketo error code (str)
    failures: list[int | str] = field(default_factory=list)
    token_lifetime_s: int = 3600

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/identity/oauth/token", self.token)
        app.router.add_get("/identity/oauth/token", self.token)
        app.router.add_post("/rest/v1/lists/{list_id}/leads.json", self.add_to_list)
        app.router.add_post("/rest/v1/leads.json", self.sync_leads)
        return app

    def expire_tokens(self) -> None:
        self.tokens.clear()

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.method == "POST" else dict(request.query)
        self.calls.append(("token", {k: v for k, v in form.items() if k != "client_secret"}))
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return web.json_response(
                {"error": "unauthorized", "error_description": "Bad client credentials"}, status=401
            )
        token = f"token-{len(self.calls)}:ab"
        self.tokens.append(token)
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime_s}
        )

    def _authorized(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        return (
            auth.startswith("Bearer ")
            and auth[7:] in self.tokens
            and "access_token" not in request.query
        )

    def _failure(self) -> web.Response | None:
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        if isinstance(failure, int):
            return web.json_response({"error": "fake"}, status=failure)
        return web.json_response(
            {
                "requestId": "f#1",
                "success": False,
                "errors": [{"code": failure, "message": "scripted"}],
            }
        )

    async def add_to_list(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("add_to_list", {"list": request.match_info["list_id"], "body": body}))
        if not self._authorized(request):
            return web.json_response(
                {"success": False, "errors": [{"code": "601", "message": "Access token invalid"}]}
            )
        if (failure := self._failure()) is not None:
            return failure
        list_id = int(request.match_info["list_id"])
        result = []
        for item in body["input"]:
            lead = item["id"]
            if lead in self.leads:
                self.lists.setdefault(list_id, set()).add(lead)
                result.append({"id": lead, "status": "added"})
            else:
                result.append(
                    {
                        "id": lead,
                        "status": "skipped",
                        "reasons": [{"code": "1004", "message": "Lead not found"}],
                    }
                )
        return web.json_response({"requestId": "e42b#1", "result": result, "success": True})

    async def sync_leads(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("sync_leads", body))
        if not self._authorized(request):
            return web.json_response(
                {"success": False, "errors": [{"code": "602", "message": "Access token expired"}]}
            )
        if (failure := self._failure()) is not None:
            return failure
        assert body["action"] == "updateOnly"
        assert body["lookupField"] == "id"
        result = []
        for item in body["input"]:
            lead = item["id"]
            if lead in self.leads:
                self.fields.setdefault(lead, {}).update(
                    {k: v for k, v in item.items() if k != "id"}
                )
                result.append({"id": lead, "status": "updated"})
            else:
                result.append(
                    {
                        "status": "skipped",
                        "reasons": [{"code": "1004", "message": "Lead not found"}],
                    }
                )
        return web.json_response({"requestId": "s#1", "result": result, "success": True})


@dataclass
class FakeWebhook:
    """A Slack incoming webhook: answers ``statuses`` in order (then 200) and keeps the bodies."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        return app

    async def hook(self, request: web.Request) -> web.Response:
        self.attempts += 1
        assert request.content_type == "application/json"
        body = await request.json()
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            assert isinstance(body.get("text"), str)
            assert body["text"]
            self.bodies.append(body)
            return web.Response(text="ok")
        headers = {"Retry-After": "0"} if status == 429 else {}
        return web.Response(status=status, text="no", headers=headers)
