"""Alert sinks against fake peers: a Slack-compatible webhook and a fake Marketo REST server."""

import aiohttp
import pytest

from pipeline.marketo.client import MarketoClient
from pipeline.marketo.errors import MarketoRejected
from pipeline.secrets import Secret
from pipeline.workers.alerting.engine import Alert
from pipeline.workers.alerting.rules import Severity
from pipeline.workers.alerting.settings import WebhookSettings
from pipeline.workers.alerting.sinks import MarketoListSink, WebhookSink
from pipeline.workers.metrics import WorkerMetrics
from tests.pipeline.events import MUNCHKIN, T0
from tests.pipeline.workers.fakes import (
    CLIENT_ID,
    FakeMarketo,
    FakeWebhook,
    instance,
    sample,
)


def alert(
    severity: Severity = Severity.WARNING, lead: str | None = "884201", rule: str = "r"
) -> Alert:
    return Alert(
        id=f"alert-{rule}-{lead}",
        rule=rule,
        severity=severity,
        key=f"{MUNCHKIN}:{lead}",
        munchkinid=MUNCHKIN,
        summary="Lead 884201 unsubscribed, then got email",
        evidence=("e1", "e2"),
        count=2,
        first_seen_s=T0,
        last_seen_s=T0 + 60,
        lead_id=lead,
        add_to_list="followup",
    )


async def test_webhook_retries_5xx_and_429_then_delivers_a_slack_body(
    fake_webhook: tuple[FakeWebhook, str], session: aiohttp.ClientSession
) -> None:
    fake, url = fake_webhook
    fake.statuses = [500, 429]
    metrics = WorkerMetrics.create()
    sink = WebhookSink(session, WebhookSettings(Secret(url), retry_initial_s=0.01), metrics)
    await sink.deliver([alert(Severity.CRITICAL)])
    assert fake.attempts == 3
    [body] = fake.bodies
    assert body["text"].startswith(":rotating_light: *[critical] r*: Lead 884201 unsubscribed")
    fields = {f["title"]: f["value"] for f in body["attachments"][0]["fields"]}
    assert fields["Tenant"] == MUNCHKIN
    assert fields["Events"] == "2"
    assert fields["First seen"] == "2026-03-02T08:55:00Z"
    assert "alert-r-884201" in body["attachments"][0]["footer"]
    assert sample(metrics, "webhook", "ok") == 1


async def test_webhook_gives_up_on_4xx_and_after_max_attempts(
    fake_webhook: tuple[FakeWebhook, str], session: aiohttp.ClientSession
) -> None:
    fake, url = fake_webhook
    metrics = WorkerMetrics.create()
    fake.statuses = [404]
    await WebhookSink(session, WebhookSettings(Secret(url)), metrics).deliver([alert()])
    assert fake.attempts == 1
    fake.statuses = [503, 503, 503]
    settings = WebhookSettings(Secret(url), max_attempts=3, retry_initial_s=0.01)
    await WebhookSink(session, settings, metrics).deliver([alert()])
    assert fake.attempts == 4
    assert fake.bodies == []
    assert sample(metrics, "webhook", "failed") == 2


async def test_webhook_skips_alerts_below_its_severity(
    fake_webhook: tuple[FakeWebhook, str], session: aiohttp.ClientSession
) -> None:
    fake, url = fake_webhook
    metrics = WorkerMetrics.create()
    settings = WebhookSettings(Secret(url), min_severity=Severity.WARNING)
    await WebhookSink(session, settings, metrics).deliver(
        [alert(Severity.INFO), alert(Severity.WARNING)]
    )
    assert len(fake.bodies) == 1
    assert sample(metrics, "webhook", "skipped") == 1


async def test_add_to_list_authenticates_and_adds_the_leads(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    metrics = WorkerMetrics.create()
    client = MarketoClient(session, instance(base))
    sink = MarketoListSink({MUNCHKIN: client}, metrics)
    await sink.deliver([alert(lead="884201"), alert(lead="884202", rule="s")])
    await sink.deliver([alert(lead="77")])
    assert fake.lists == {1001: {884201, 884202, 77}}
    token_calls = [c for c in fake.calls if c[0] == "token"]
    assert token_calls == [("token", {"grant_type": "client_credentials", "client_id": CLIENT_ID})]
    first = next(c for c in fake.calls if c[0] == "add_to_list")
    assert first[1] == {"list": "1001", "body": {"input": [{"id": 884201}, {"id": 884202}]}}
    assert sample(metrics, "marketo_list", "ok") == 3


async def test_add_to_list_refreshes_an_expired_token_and_retries_when_busy(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    metrics = WorkerMetrics.create()
    sink = MarketoListSink({MUNCHKIN: MarketoClient(session, instance(base))}, metrics)
    await sink.deliver([alert(lead="1")])
    fake.expire_tokens()  # the next call gets 601 and must fetch a new token
    fake.failures = ["606", 503]  # then: rate limit, then HTTP 503, then success
    await sink.deliver([alert(lead="2")])
    assert fake.lists[1001] == {1, 2}
    assert len([c for c in fake.calls if c[0] == "token"]) == 2
    assert sample(metrics, "marketo_list", "ok") == 2


async def test_add_to_list_reports_unknown_leads_and_skips_unmapped_ones(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    metrics = WorkerMetrics.create()
    sink = MarketoListSink({MUNCHKIN: MarketoClient(session, instance(base))}, metrics)
    await sink.deliver([alert(lead="123456789"), alert(lead=None)])
    assert fake.lists == {}
    assert sample(metrics, "marketo_list", "skipped") == 2


async def test_bad_credentials_are_refused_without_retrying(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    client = MarketoClient(session, instance(base, secret="wrong"))
    with pytest.raises(MarketoRejected, match="client credentials"):
        await client.add_to_list(1001, [1])
    metrics = WorkerMetrics.create()
    await MarketoListSink({MUNCHKIN: client}, metrics).deliver([alert()])
    assert len(fake.calls) == 2
    assert sample(metrics, "marketo_list", "failed") == 1
