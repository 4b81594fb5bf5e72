"""Where scores go besides the lead-scores topic: back to a lead field in Marketo.

``MarketoScoreSink`` writes emitted scores through sync leads (updateOnly, looked up by id),
after they are on Kafka, as every sink does (``pipeline/workers/sinks.py``).
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence

from pipeline.marketo.client import MarketoClient
from pipeline.workers.errors import DELIVERY_ERRORS
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.sinks import count_results, with_retries

log = logging.getLogger(__name__)


class MarketoScoreSink:
    """Writes scores to a lead field through sync leads (updateOnly, looked up by id)."""

    def __init__(
        self, clients: Mapping[str, MarketoClient], field: str, metrics: WorkerMetrics
    ) -> None:
        self._clients = clients
        self._field = field
        self._metrics = metrics

    async def push(self, scores: Sequence[tuple[str, str, float]]) -> None:
        """``scores``: (munchkin ID, lead id, score); leads of unknown instances are skipped."""
        per_instance: dict[str, dict[int, float]] = defaultdict(dict)
        for munchkin, lead, score in scores:
            if munchkin in self._clients and lead.isdigit():
                per_instance[munchkin][int(lead)] = round(score, 4)
            else:
                self._metrics.sink_deliveries.labels("marketo_push", "skipped").inc()
        await asyncio.gather(*(self._push(m, values) for m, values in per_instance.items()))

    async def _push(self, munchkin: str, values: dict[int, float]) -> None:
        client = self._clients[munchkin]
        attempts, initial = client.instance.max_attempts, client.instance.retry_initial_s
        try:
            results = await with_retries(
                lambda: client.sync_leads(self._field, values), attempts=attempts, initial_s=initial
            )
        except DELIVERY_ERRORS as exc:
            log.error(
                "marketo_push: %d score(s) for %s not written: %s", len(values), munchkin, exc
            )
            self._metrics.sink_deliveries.labels("marketo_push", "failed").inc(len(values))
            return
        count_results(self._metrics, "marketo_push", results, ("updated",), len(values))
