"""The topics the workers write, as objects beside the ingress' own (``pipeline/topics.py``).

* ``<prefix>.alerts``       key ``<rule>:<alert key>``; value: the alert as JSON
* ``<prefix>.lead-scores``  compacted; key ``<munchkinId>:<leadId>`` (the lead-activity key, so
                            with the same partition count a lead's score lives in the partition
                            number of its activities); value: the score and the state it came
                            from. It is the scoring worker's output *and* its changelog.
"""

from dataclasses import dataclass

from pipeline.settings import HOURS, TopicSettings
from pipeline.topics import Topic, Topics, build_topics


@dataclass(frozen=True)
class WorkerTopics:
    inputs: Topics
    alerts: Topic
    lead_scores: Topic

    def outputs(self) -> tuple[Topic, ...]:
        return (self.alerts, self.lead_scores)


def build_worker_topics(settings: TopicSettings, max_record_bytes: int) -> WorkerTopics:
    inputs = build_topics(settings, max_record_bytes)
    alerts = Topic(
        name=f"{settings.prefix}.alerts",
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        config=dict(inputs.dead_letter.config),
    )
    compacted = {
        "cleanup.policy": "compact",
        "max.message.bytes": str(max_record_bytes),
        # compact the changelog within hours, so a restore reads about one record per lead
        "segment.ms": str(int(6 * HOURS * 1000)),
        "min.cleanable.dirty.ratio": "0.1",
        "delete.retention.ms": str(int(24 * HOURS * 1000)),
    }
    if settings.min_insync_replicas is not None:
        compacted["min.insync.replicas"] = str(settings.min_insync_replicas)
    lead_scores = Topic(
        name=f"{settings.prefix}.lead-scores",
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        config=compacted,
    )
    return WorkerTopics(inputs=inputs, alerts=alerts, lead_scores=lead_scores)
