"""The registry: one spec per worker kind the settings know, each consuming its own topics."""

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import TopicSettings
from pipeline.topics import build_worker_topics
from pipeline.workers.registry import WORKERS, worker_spec
from pipeline.workers.settings import KINDS


def test_every_kind_has_a_spec_of_its_own_name() -> None:
    assert tuple(WORKERS) == KINDS
    assert all(worker_spec(kind).kind == kind for kind in KINDS)


def test_an_unknown_kind_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"'billing' is not one of \['alerting', 'scoring'\]"):
        worker_spec("billing")


def test_alerting_reads_the_three_envelope_topics_and_scoring_lead_activity_only() -> None:
    topics = build_worker_topics(TopicSettings(prefix="t"), 1 << 20)
    inputs = {kind: [t.name for t in spec.inputs(topics)] for kind, spec in WORKERS.items()}
    assert inputs == {
        "alerting": ["t.lead-activity", "t.user-audit", "t.notification"],
        "scoring": ["t.lead-activity"],
    }
