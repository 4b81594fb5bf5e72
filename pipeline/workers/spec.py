"""What a worker wing tells the service (``WorkerSpec``) and what the service hands it (``Wiring``).

Each wing (``alerting/``, ``scoring/``) exports one ``WorkerSpec`` from its ``worker.py``; the
registry (``registry.py``) maps the kinds to them, and the service (``service.py``) runs the one
it is given without naming any.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.consume.handler import Handler
from pipeline.marketo.client import MarketoClient
from pipeline.publish import Publisher
from pipeline.topics import Topic, WorkerTopics
from pipeline.workers.effects.handler import EffectsRole
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.settings import WorkerSettings


@dataclass(frozen=True)
class Wiring:
    """The resources the service owns (and closes) that a wing's handler and sinks use."""

    settings: WorkerSettings
    topics: WorkerTopics
    publisher: Publisher
    session: aiohttp.ClientSession
    clients: Mapping[str, MarketoClient]  # one per ``[[marketo]]`` instance, by munchkin ID
    metrics: WorkerMetrics
    clock: Callable[[], float]


def _plain_metrics(settings: WorkerSettings) -> WorkerMetrics:
    return WorkerMetrics.create()


async def _as_declared(admin: AIOKafkaAdminClient, topics: WorkerTopics) -> WorkerTopics:
    return topics


async def _no_check(admin: AIOKafkaAdminClient, topics: WorkerTopics) -> None:
    return None


def _no_effects(w: Wiring) -> EffectsRole | None:
    return None


@dataclass(frozen=True)
class WorkerSpec:
    kind: str  # ``datastreams worker <kind>``; also the loop's name and the metrics' worker label
    inputs: Callable[[WorkerTopics], tuple[Topic, ...]]  # what its consume loop subscribes to
    handler: Callable[[Wiring], Handler]  # the handler, with its sinks
    # The worker's metrics, with the label sets it declares up front (one per alert rule, say).
    metrics: Callable[[WorkerSettings], WorkerMetrics] = _plain_metrics
    # The output topics as this worker needs them created (a partition count, say).
    fit_outputs: Callable[[AIOKafkaAdminClient, WorkerTopics], Awaitable[WorkerTopics]] = (
        _as_declared
    )
    # Once the outputs are writable: raises when the worker cannot run with them as they are.
    check_outputs: Callable[[AIOKafkaAdminClient, WorkerTopics], Awaitable[None]] = _no_check
    # The effects role (``effects/``): what it reads and delivers; None when nothing is
    # configured to deliver to, and then it does not run.
    effects: Callable[[Wiring], EffectsRole | None] = _no_effects
