"""The ``[scoring]`` table of the worker config and the scoring file it names (the model, when a
score is emitted, how often the state is checkpointed)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.settings import SECONDS, Section, table
from pipeline.workers.files import Files
from pipeline.workers.scoring.models import (
    MODEL_NAMES,
    ScoringModel,
    parse_decayed_weights,
    parse_logistic_regression,
)


@dataclass(frozen=True)
class ScoringSettings:
    model: ScoringModel
    emit_threshold: float = 5.0
    checkpoint_interval_s: float = 30 * SECONDS
    group_id: str = "datastreams-scoring"
    start_from: str = "earliest"
    port: int = 9102
    push_to_marketo: bool = False
    push_field: str = "datastreamsScore"


SCORING_KEYS = {"group_id", "start_from", "port", "config_file", "push_to_marketo", "push_field"}
SCORING_FILE_KEYS = {
    "model",
    "emit_threshold",
    "checkpoint_seconds",
    "decayed_weights",
    "logistic_regression",
}


def read_scoring(doc: Mapping[str, Any], files: Files) -> ScoringSettings:
    s = Section("scoring", table(doc, "scoring"), SCORING_KEYS)
    config_file = s.text("config_file", "scoring.toml")
    scoring_doc = files.toml("scoring.config_file", config_file)
    f = Section(str(files.path(config_file)), scoring_doc, SCORING_FILE_KEYS)
    model: ScoringModel
    if f.choice("model", "decayed-weights", MODEL_NAMES) == "decayed-weights":
        model = parse_decayed_weights(table(scoring_doc, "decayed_weights"))
    else:
        lr = Section(
            "logistic_regression", table(scoring_doc, "logistic_regression"), {"coefficients_file"}
        )
        name = lr.text("coefficients_file", "lead-model.example.json")
        coefficients = files.json("logistic_regression.coefficients_file", name)
        model = parse_logistic_regression(coefficients, str(files.path(name)))
    d = ScoringSettings(model=model)
    return ScoringSettings(
        model=model,
        emit_threshold=f.number("emit_threshold", d.emit_threshold, 0.0),
        checkpoint_interval_s=f.number("checkpoint_seconds", d.checkpoint_interval_s, 0.0),
        group_id=s.text("group_id", d.group_id),
        start_from=s.choice("start_from", d.start_from, ("earliest", "latest")),
        port=s.integer("port", d.port),
        push_to_marketo=s.flag("push_to_marketo", d.push_to_marketo),
        push_field=s.text("push_field", d.push_field),
    )
