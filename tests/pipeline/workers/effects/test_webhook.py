"""The signed webhook sink against an idempotent receiver that verifies with the Standard
Webhooks library's own verifier."""

import time

import aiohttp
import orjson
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from pipeline.config import Secret
from pipeline.consume.record import Partition
from pipeline.workers.alerting.effects import decider, slack_body
from pipeline.workers.alerting.engine import Alert
from pipeline.workers.alerting.handler import alert_record
from pipeline.workers.alerting.rules import Severity
from pipeline.workers.alerting.settings import WebhookSettings
from pipeline.workers.effects.effect import Effect
from pipeline.workers.effects.webhook import Endpoint, WebhookSink, signature_headers
from pipeline.workers.metrics import WorkerMetrics
from tests.pipeline.events import MUNCHKIN, T0, record_of
from tests.pipeline.workers.fakes import (
    OLD_SIGNING_SECRET,
    SIGNING_SECRET,
    IdempotentReceiver,
    sample,
)

SOURCE = Partition("t.lead-activity", 0)


def alert(severity: Severity = Severity.WARNING, lead: str = "884201") -> Alert:
    return Alert(
        id=f"alert-r-{lead}",
        rule="r",
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


def effects(*alerts: Alert, minimum: Severity = Severity.INFO) -> list[Effect]:
    settings = WebhookSettings(Secret("http://unused"), min_severity=minimum)
    decide = decider(settings, {}, WorkerMetrics.create())
    records = [record_of(alert_record(a, SOURCE, "t.alerts", T0 + 90)) for a in alerts]
    return [e for r in records for e in decide(r)]


def endpoint(url: str, *secrets: str, attempts: int = 5) -> Endpoint:
    return Endpoint(Secret(url), tuple(Secret(s) for s in secrets), 5.0, attempts, 0.01)


async def test_a_receiver_verifies_the_signature_and_reads_a_slack_body(
    receiver: tuple[IdempotentReceiver, str], session: aiohttp.ClientSession
) -> None:
    fake, url = receiver
    metrics = WorkerMetrics.create()
    sink = WebhookSink(session, endpoint(url, SIGNING_SECRET), metrics)
    assert await sink.deliver(effects(alert(Severity.CRITICAL))) == []
    assert fake.arrivals == ["alert-r-884201"]  # webhook-id: the alert id
    assert fake.forged == 0
    body = fake.bodies["alert-r-884201"]
    assert body["text"].startswith(":rotating_light: *[critical] r*: Lead 884201 unsubscribed")
    fields = {f["title"]: f["value"] for f in body["attachments"][0]["fields"]}
    assert (fields["Tenant"], fields["Events"]) == (MUNCHKIN, "2")
    assert fields["First seen"] == "2026-03-02T08:55:00Z"
    assert sample(metrics, "webhook", "ok") == 1


async def test_every_secret_of_a_rotation_signs_and_a_wrong_one_is_refused(
    receiver: tuple[IdempotentReceiver, str], session: aiohttp.ClientSession
) -> None:
    fake, url = receiver
    metrics = WorkerMetrics.create()
    # the receiver still holds the old secret while we sign with the new one as well
    fake.secret = OLD_SIGNING_SECRET
    rotating = WebhookSink(session, endpoint(url, SIGNING_SECRET, OLD_SIGNING_SECRET), metrics)
    assert await rotating.deliver(effects(alert(lead="1"))) == []
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    forged = WebhookSink(session, endpoint(url, other), metrics)
    [failed] = await forged.deliver(effects(alert(lead="2")))
    assert (failed.reason, fake.forged) == ("sink_refused", 1)  # 400: not retried
    assert list(fake.bodies) == ["alert-r-1"]


def test_the_signature_is_the_conventions_and_a_stale_one_fails_verification() -> None:
    body = orjson.dumps(slack_body(orjson.loads(alert_record(alert(), SOURCE, "a", T0).value)))
    now = time.time()
    headers = signature_headers("msg-1", now, body, [Secret(SIGNING_SECRET)])
    assert headers["webhook-timestamp"] == str(int(now))
    assert Webhook(SIGNING_SECRET).verify(body, headers) == orjson.loads(body)
    stale = signature_headers("msg-1", now - 600, body, [Secret(SIGNING_SECRET)])
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SIGNING_SECRET).verify(body, stale)
    assert "webhook-signature" not in signature_headers("m", now, body, [])


async def test_5xx_and_429_are_retried_under_the_same_id_then_given_up(
    receiver: tuple[IdempotentReceiver, str], session: aiohttp.ClientSession
) -> None:
    fake, url = receiver
    metrics = WorkerMetrics.create()
    fake.statuses = [500, 429]
    sink = WebhookSink(session, endpoint(url, SIGNING_SECRET), metrics)
    assert await sink.deliver(effects(alert(lead="1"))) == []
    assert fake.arrivals == ["alert-r-1"] * 3
    fake.statuses = [503, 503, 503]
    tired = WebhookSink(session, endpoint(url, SIGNING_SECRET, attempts=3), metrics)
    [failed] = await tired.deliver(effects(alert(lead="2")))
    assert failed.reason == "sink_failed"
    assert failed.effect.key == "alert-r-2"
    assert list(fake.bodies) == ["alert-r-1"]


def test_alerts_below_the_webhooks_severity_are_skipped() -> None:
    found = effects(
        alert(Severity.INFO, "1"), alert(Severity.WARNING, "2"), minimum=Severity.WARNING
    )
    assert [e.key for e in found] == ["alert-r-2"]
