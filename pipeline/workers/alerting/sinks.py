"""Where alerts go as they are fired, besides the alerts topic: the log (``LogSink``, one line
per alert at a level by severity). The effects outside the process (a webhook, Marketo lists)
are the effects role's, driven from the alerts topic (``effects.py``).
"""

import logging
from collections.abc import Sequence
from typing import Protocol

from pipeline.envelope import format_epoch_s
from pipeline.workers.alerting.engine import Alert
from pipeline.workers.alerting.rules import Severity
from pipeline.workers.metrics import WorkerMetrics

log = logging.getLogger(__name__)

LOG_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.CRITICAL: logging.ERROR,
}


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
