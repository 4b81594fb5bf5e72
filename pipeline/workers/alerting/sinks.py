"""Where alerts go besides the alerts topic: the log, a webhook, Marketo lists.

Every sink runs after the alerts are on Kafka and follows ``pipeline/workers/sinks.py``: retries
up to its ``max_attempts``, then gives up without blocking the consume loop.

* ``LogSink``         one log line per alert, at a level by severity
* ``WebhookSink``     ``POST`` a Slack-compatible body (``text`` + ``attachments``); 429 and 5xx
                      are retried (``Retry-After`` honoured), other 4xx are not
* ``MarketoListSink`` for rules with ``add_to_list``: adds the alert's lead to the instance's
                      list of that name (``[[marketo]] lists``)
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import aiohttp

from pipeline.envelope import format_epoch_s
from pipeline.marketo.client import MarketoClient
from pipeline.workers.alerting.engine import Alert
from pipeline.workers.alerting.rules import Severity
from pipeline.workers.alerting.settings import WebhookSettings
from pipeline.workers.errors import DELIVERY_ERRORS, WebhookError
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.sinks import count_results, with_retries

log = logging.getLogger(__name__)

LOG_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.CRITICAL: logging.ERROR,
}
ICONS = {
    Severity.INFO: ":information_source:",
    Severity.WARNING: ":warning:",
    Severity.CRITICAL: ":rotating_light:",
}
COLORS = {Severity.INFO: "#439FE0", Severity.WARNING: "#DAA038", Severity.CRITICAL: "#D50200"}


class AlertSink(Protocol):
    async def deliver(self, alerts: Sequence[Alert]) -> None:
        """Deliver what it can; never raises."""
        ...


class LogSink:
    def __init__(self, metrics: WorkerMetrics) -> None:
        self._metrics = metrics

    async def deliver(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            log.log(
                LOG_LEVELS[a.severity],
                "ALERT %s [%s] %s (key %s, %d event(s), %s … %s, id %s)",
                a.rule,
                a.severity.value,
                a.summary,
                a.key,
                a.count,
                format_epoch_s(a.first_seen_s),
                format_epoch_s(a.last_seen_s),
                a.id,
            )
            self._metrics.sink_deliveries.labels("log", "ok").inc()


def slack_body(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook body; other chat tools accept the same ``text``."""
    fields = [
        ("Rule", alert.rule),
        ("Severity", alert.severity.value),
        ("Tenant", alert.munchkinid),
        ("Key", alert.key),
        ("Events", str(alert.count)),
        ("First seen", format_epoch_s(alert.first_seen_s)),
        ("Last seen", format_epoch_s(alert.last_seen_s)),
    ]
    return {
        "text": f"{ICONS[alert.severity]} *[{alert.severity.value}] {alert.rule}*: {alert.summary}",
        "attachments": [
            {
                "color": COLORS[alert.severity],
                "fields": [{"title": t, "value": v, "short": True} for t, v in fields],
                "footer": f"datastreams alert {alert.id}",
            }
        ],
    }


class WebhookSink:
    def __init__(
        self, session: aiohttp.ClientSession, settings: WebhookSettings, metrics: WorkerMetrics
    ) -> None:
        assert settings.url is not None
        self._session = session
        self._settings = settings
        self._url = settings.url
        self._metrics = metrics

    async def deliver(self, alerts: Sequence[Alert]) -> None:
        wanted = [a for a in alerts if a.severity.rank >= self._settings.min_severity.rank]
        skipped = len(alerts) - len(wanted)
        if skipped:
            self._metrics.sink_deliveries.labels("webhook", "skipped").inc(skipped)
        await asyncio.gather(*(self._deliver_one(a) for a in wanted))

    async def _deliver_one(self, alert: Alert) -> None:
        s = self._settings
        try:
            await with_retries(
                lambda: self._post(alert), attempts=s.max_attempts, initial_s=s.retry_initial_s
            )
        except DELIVERY_ERRORS as exc:
            log.error("webhook: alert %s (%s) not delivered: %s", alert.id, alert.rule, exc)
            self._metrics.sink_deliveries.labels("webhook", "failed").inc()
        else:
            self._metrics.sink_deliveries.labels("webhook", "ok").inc()

    async def _post(self, alert: Alert) -> None:
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
        try:
            async with self._session.post(
                self._url.reveal(), json=slack_body(alert), timeout=timeout
            ) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WebhookError(f"webhook did not answer: {type(exc).__name__}") from exc
        if status < 300:
            return
        error = WebhookError(f"webhook answered HTTP {status}")
        if status != 429 and status < 500:
            error.retriable = False
        if retry_after.isdigit():
            error.retry_after_s = float(retry_after)
        raise error


class MarketoListSink:
    """Adds the leads of ``add_to_list`` alerts to the named list of their Marketo instance."""

    def __init__(self, clients: Mapping[str, MarketoClient], metrics: WorkerMetrics) -> None:
        self._clients = clients
        self._metrics = metrics

    async def deliver(self, alerts: Sequence[Alert]) -> None:
        batches: dict[tuple[str, int], set[int]] = defaultdict(set)
        for a in alerts:
            if a.add_to_list is None:
                continue
            target = self._target(a)
            if target is None:
                self._metrics.sink_deliveries.labels("marketo_list", "skipped").inc()
                continue
            batches[target].add(int(a.lead_id or 0))
        await asyncio.gather(
            *(self._add(m, list_id, sorted(ids)) for (m, list_id), ids in batches.items())
        )

    def _target(self, alert: Alert) -> tuple[str, int] | None:
        client = self._clients.get(alert.munchkinid)
        list_id = client.instance.lists.get(alert.add_to_list or "") if client else None
        if list_id is None or not (alert.lead_id or "").isdigit():
            log.debug("marketo_list: nothing to do for %s (%s)", alert.id, alert.munchkinid)
            return None
        return alert.munchkinid, list_id

    async def _add(self, munchkin: str, list_id: int, lead_ids: list[int]) -> None:
        client = self._clients[munchkin]
        attempts, initial = client.instance.max_attempts, client.instance.retry_initial_s
        try:
            results = await with_retries(
                lambda: client.add_to_list(list_id, lead_ids), attempts=attempts, initial_s=initial
            )
        except DELIVERY_ERRORS as exc:
            log.error(
                "marketo_list: leads %s not added to list %d of %s: %s",
                lead_ids,
                list_id,
                munchkin,
                exc,
            )
            self._metrics.sink_deliveries.labels("marketo_list", "failed").inc(len(lead_ids))
            return
        count_results(self._metrics, "marketo_list", results, ("added",), len(lead_ids))
