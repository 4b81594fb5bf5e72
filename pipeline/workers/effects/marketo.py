"""The Marketo sink: every write-back call, batched per instance and target.

Effects of one flush that call the same thing (one list, one campaign with the same token value,
one program status, one lead field) on the same instance go out together, in as few calls as
Marketo allows (300 leads, 100 for a campaign request), within the instance's shared limiter
(``pipeline/marketo``). A call that still fails after ``max_attempts`` fails every effect it
carried; Marketo's per-lead refusals (an unknown lead, say) are counted ``skipped``, not retried.

| sink               | target                                  | call                   |
|--------------------|-----------------------------------------|------------------------|
| ``marketo_list``   | (list id,)                              | add to a static list   |
| ``marketo_unlist`` | (list id,)                              | remove from the list   |
| ``marketo_campaign`` | (campaign id, token name, token value) | request a campaign     |
| ``marketo_program``  | (program id, status)                  | program member status  |
| ``marketo_field``  | (field name,)                           | sync leads, updateOnly |
"""

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pipeline.marketo.client import MarketoClient
from pipeline.marketo.errors import MarketoRejected
from pipeline.workers.effects.effect import Effect, Failure, failure
from pipeline.workers.errors import DELIVERY_ERRORS
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.sinks import count_results, with_retries

Results = list[dict[str, Any]]
Call = Callable[[MarketoClient, tuple[int | str, ...], Sequence[Effect]], Awaitable[Results]]


def _ids(effects: Sequence[Effect]) -> list[int]:
    return sorted({e.lead_id for e in effects})


async def _add(c: MarketoClient, t: tuple[int | str, ...], es: Sequence[Effect]) -> Results:
    return await c.add_to_list(int(t[0]), _ids(es))


async def _remove(c: MarketoClient, t: tuple[int | str, ...], es: Sequence[Effect]) -> Results:
    return await c.remove_from_list(int(t[0]), _ids(es))


async def _campaign(c: MarketoClient, t: tuple[int | str, ...], es: Sequence[Effect]) -> Results:
    campaign, token, value = t
    tokens = {str(token): str(value)} if token else {}
    ids = _ids(es)
    await c.request_campaign(int(campaign), ids, tokens)
    return [{"id": i, "status": "requested"} for i in ids]  # Marketo answers for the call


async def _program(c: MarketoClient, t: tuple[int | str, ...], es: Sequence[Effect]) -> Results:
    return await c.change_program_status(int(t[0]), str(t[1]), _ids(es))


async def _field(c: MarketoClient, t: tuple[int | str, ...], es: Sequence[Effect]) -> Results:
    values = {e.lead_id: e.value for e in es}  # in record order: a lead's newest value wins
    return await c.sync_leads(str(t[0]), values)


# sink → (the call, the per-lead statuses that count as done)
CALLS: Mapping[str, tuple[Call, tuple[str, ...]]] = {
    "marketo_list": (_add, ("added",)),
    "marketo_unlist": (_remove, ("removed",)),
    "marketo_campaign": (_campaign, ("requested",)),
    "marketo_program": (_program, ("updated",)),
    "marketo_field": (_field, ("updated",)),
}


class MarketoSink:
    def __init__(
        self,
        clients: Mapping[str, MarketoClient],
        metrics: WorkerMetrics,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clients = clients
        self._metrics = metrics
        self._sleep = sleep  # between attempts; tests pass one that does not wait

    async def deliver(self, effects: Sequence[Effect]) -> list[Failure]:
        groups: dict[tuple[str, str, tuple[int | str, ...]], list[Effect]] = defaultdict(list)
        for e in effects:
            groups[(e.sink, e.munchkin, e.target)].append(e)
        found = await asyncio.gather(*(self._call(*g, es) for g, es in groups.items()))
        return [f for failures in found for f in failures]

    async def _call(
        self, sink: str, munchkin: str, target: tuple[int | str, ...], effects: list[Effect]
    ) -> list[Failure]:
        client = self._clients.get(munchkin)
        if client is None:
            refused = MarketoRejected(f"no [[marketo]] instance for {munchkin}")
            return [failure(e, refused) for e in effects]
        call, good = CALLS[sink]
        m = client.instance
        try:
            results = await with_retries(
                lambda: call(client, target, effects),
                attempts=m.max_attempts,
                initial_s=m.retry_initial_s,
                sleep=self._sleep,
            )
        except DELIVERY_ERRORS as exc:
            return [failure(e, exc) for e in effects]
        count_results(self._metrics, sink, results, good, len(_ids(effects)))
        return []
