"""The scoring worker as the service runs it: lead activities in, the handler and its Marketo
push, and lead-scores kept co-partitioned with lead-activity (a restore reads the lead-scores
partition of the same number)."""

from dataclasses import replace

from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import partitions_of
from pipeline.topics import Topic, WorkerTopics
from pipeline.workers.errors import PartitioningError
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.scoring.settings import ScoringSettings
from pipeline.workers.scoring.sinks import MarketoScoreSink
from pipeline.workers.settings import WorkerSettings
from pipeline.workers.spec import Wiring, WorkerSpec


def section(settings: WorkerSettings) -> ScoringSettings:
    assert settings.scoring is not None  # parse_worker_settings reads it for this kind
    return settings.scoring


def inputs(topics: WorkerTopics) -> tuple[Topic, ...]:
    return (topics.inputs.lead_activity,)


def handler(w: Wiring) -> ScoringHandler:
    s = section(w.settings)
    pusher = MarketoScoreSink(w.clients, s.push_field, w.metrics) if s.push_to_marketo else None
    return ScoringHandler(
        model=s.model,
        emit_threshold=s.emit_threshold,
        checkpoint_interval_s=s.checkpoint_interval_s,
        scores_topic=w.topics.lead_scores.name,
        publisher=w.publisher,
        metrics=w.metrics,
        pusher=pusher,
        clock=w.clock,
    )


async def fit_outputs(admin: AIOKafkaAdminClient, topics: WorkerTopics) -> WorkerTopics:
    leads = await partitions_of(admin, topics.inputs.lead_activity.name)
    if not leads:
        return topics
    # the changelog must follow lead-activity's partition count
    return replace(topics, lead_scores=replace(topics.lead_scores, partitions=len(leads)))


async def check_outputs(admin: AIOKafkaAdminClient, topics: WorkerTopics) -> None:
    leads = await partitions_of(admin, topics.inputs.lead_activity.name)
    scores = await partitions_of(admin, topics.lead_scores.name)
    if leads and len(leads) != len(scores):
        raise PartitioningError(
            f"{topics.lead_scores.name} has {len(scores)} partitions and "
            f"{topics.inputs.lead_activity.name} {len(leads)}: they must be equal"
        )


SCORING = WorkerSpec(
    kind="scoring",
    inputs=inputs,
    handler=handler,
    fit_outputs=fit_outputs,
    check_outputs=check_outputs,
)
