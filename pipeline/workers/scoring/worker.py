"""The scoring worker as the service runs it: lead activities in, the handler with its
thresholds, the effects role (score fields, crossing actions in Marketo), and lead-scores and
score-crossings kept co-partitioned with lead-activity (a restore reads the lead-scores partition
of the same number; a crossing goes to its activity's partition number)."""

from dataclasses import replace

from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import partitions_of
from pipeline.topics import Topic, WorkerTopics
from pipeline.workers.errors import PartitioningError
from pipeline.workers.scoring import effects
from pipeline.workers.scoring.crossings import Crossings
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.scoring.settings import ScoringSettings
from pipeline.workers.settings import WorkerSettings
from pipeline.workers.spec import Wiring, WorkerSpec


def section(settings: WorkerSettings) -> ScoringSettings:
    assert settings.scoring is not None  # parse_worker_settings reads it for this kind
    return settings.scoring


def inputs(topics: WorkerTopics) -> tuple[Topic, ...]:
    return (topics.inputs.lead_activity,)


def handler(w: Wiring) -> ScoringHandler:
    s = section(w.settings)
    return ScoringHandler(
        model=s.model,
        emit_threshold=s.emit_threshold,
        checkpoint_interval_s=s.checkpoint_interval_s,
        scores_topic=w.topics.lead_scores.name,
        publisher=w.publisher,
        metrics=w.metrics,
        crossings=Crossings(s.thresholds) if s.thresholds else None,
        crossings_topic=w.topics.score_crossings.name,
        clock=w.clock,
    )


async def fit_outputs(admin: AIOKafkaAdminClient, topics: WorkerTopics) -> WorkerTopics:
    leads = await partitions_of(admin, topics.inputs.lead_activity.name)
    if not leads:
        return topics
    # the changelog and the crossings must follow lead-activity's partition count
    n = len(leads)
    return replace(
        topics,
        lead_scores=replace(topics.lead_scores, partitions=n),
        score_crossings=replace(topics.score_crossings, partitions=n),
    )


async def check_outputs(admin: AIOKafkaAdminClient, topics: WorkerTopics) -> None:
    leads = await partitions_of(admin, topics.inputs.lead_activity.name)
    for output in (topics.lead_scores, topics.score_crossings):
        found = await partitions_of(admin, output.name)
        if leads and len(leads) != len(found):
            raise PartitioningError(
                f"{output.name} has {len(found)} partitions and "
                f"{topics.inputs.lead_activity.name} {len(leads)}: they must be equal"
            )


SCORING = WorkerSpec(
    kind="scoring",
    inputs=inputs,
    handler=handler,
    fit_outputs=fit_outputs,
    check_outputs=check_outputs,
    effects=effects.role,
)
