"""Fake HTTP peers of the workers: Marketo's REST API and a Slack-compatible webhook.

Both are real aiohttp applications served on a local port; they check what a real peer checks
(credentials, bearer tokens, body shapes, webhook signatures with the Standard Webhooks library's
own verifier) and can be scripted to fail, so sink tests can fail. The webhook is an idempotent
receiver: it counts every arrival and keeps one body per ``webhook-id``.
``instance`` points a Marketo instance at the fake; ``sample`` reads what the sinks counted.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from pipeline.marketo.settings import MarketoInstance
from pipeline.secrets import Secret
from pipeline.workers.metrics import WorkerMetrics
from tests.pipeline.events import MUNCHKIN

CLIENT_ID = "marketo-client-id"
CLIENT_SECRET = "marketo-client-secret-0123456789"
# Standard Webhooks secrets: whsec_ and base64 of random bytes (a test value, not a credential)
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SIGNING_SECRET = "whsec_dGhlIG9sZCBzZWNyZXQgb2YgdGhlIHJvdGF0aW9u"


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
    programs: dict[int, dict[int, str]] = field(default_factory=dict)  # program → lead → status
    # campaign requests as made: (campaign id, lead ids, {token: value})
    requests: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
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
        app.router.add_delete("/rest/v1/lists/{list_id}/leads.json", self.remove_from_list)
        app.router.add_post("/rest/v1/campaigns/{campaign_id}/trigger.json", self.trigger)
        app.router.add_post("/rest/v1/leads/programs/{program_id}/status.json", self.status)
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

    async def _refusal(self, request: web.Request) -> web.Response | None:
        if not self._authorized(request):
            return web.json_response(
                {"success": False, "errors": [{"code": "601", "message": "Access token invalid"}]}
            )
        return self._failure()

    async def remove_from_list(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(
            ("remove_from_list", {"list": request.match_info["list_id"], "body": body})
        )
        if (refused := await self._refusal(request)) is not None:
            return refused
        members = self.lists.setdefault(int(request.match_info["list_id"]), set())
        result = []
        for item in body["input"]:
            lead = item["id"]
            if lead in members:
                members.discard(lead)
                result.append({"id": lead, "status": "removed"})
            else:
                reason = {"code": "1015", "message": "Lead not in list"}
                result.append({"id": lead, "status": "skipped", "reasons": [reason]})
        return web.json_response({"requestId": "r#1", "result": result, "success": True})

    async def trigger(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("trigger", body))
        if (refused := await self._refusal(request)) is not None:
            return refused
        campaign = int(request.match_info["campaign_id"])
        leads = [item["id"] for item in body["input"]["leads"]]
        assert len(leads) <= 100
        tokens = {t["name"]: t["value"] for t in body["input"].get("tokens", [])}
        self.requests.append((campaign, leads, tokens))
        return web.json_response(
            {"requestId": "t#1", "result": [{"id": campaign}], "success": True}
        )

    async def status(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("status", body))
        if (refused := await self._refusal(request)) is not None:
            return refused
        members = self.programs.setdefault(int(request.match_info["program_id"]), {})
        result = []
        for item in body["input"]:
            members[item["id"]] = body["status"]
            result.append({"id": item["id"], "status": "updated"})
        return web.json_response({"requestId": "p#1", "result": result, "success": True})


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


@dataclass
class IdempotentReceiver:
    """A webhook receiver as the docs tell one to be: it verifies the signature with the
    convention's own verifier (when it holds a secret), counts every arrival, and acts once per
    ``webhook-id``. ``statuses`` are answered in order first (then 200)."""

    secret: str | None = None
    statuses: list[int] = field(default_factory=list)
    arrivals: list[str] = field(default_factory=list)  # webhook-id of every POST, repeats too
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id → first body
    accepted: list[str] = field(default_factory=list)  # webhook-id of every POST answered 200
    forged: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        return app

    async def hook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        message_id = request.headers.get("webhook-id", "")
        self.arrivals.append(message_id)
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(raw, dict(request.headers))
            except WebhookVerificationError:
                self.forged += 1
                return web.Response(status=400, text="bad signature")
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.accepted.append(message_id)
            self.bodies.setdefault(message_id, json.loads(raw))
            return web.Response(text="ok")
        return web.Response(status=status, text="no")


def marketo_table(base: str, **extra: Any) -> dict[str, Any]:
    """A ``[[marketo]]`` table of the worker config pointing at the fake at ``base``."""
    return {
        "munchkin_id": MUNCHKIN,
        "identity_url": f"{base}/identity",
        "rest_url": f"{base}/rest",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "rate_limit_backoff_seconds": 1.0,  # Marketo's 20 s, where a 606 is part of the test
        **extra,
    }
