"""The ``[scoring]`` table of the worker config (with its ``[[scoring.thresholds]]``) and the
scoring file it names (the model, when a score is emitted, how often the state is
checkpointed)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.config import SECONDS, read_section, setting, table
from pipeline.errors import ConfigError
from pipeline.workers.files import Files
from pipeline.workers.scoring.crossings import ScoreThreshold, read_thresholds
from pipeline.workers.scoring.models import (
    MODEL_NAMES,
    ScoringModel,
    parse_decayed_weights,
    parse_logistic_regression,
)


def _table(raw: Any, where: str, env: Mapping[str, str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"Config [{where}] must be a table, got {type(raw).__name__}.")
    return raw


@dataclass(frozen=True)
class ScoringFile:
    """The scoring file (``scoring.config_file``): which model, and its knobs."""

    model: str = setting("decayed-weights", choices=MODEL_NAMES)
    emit_threshold: float = setting(5.0, minimum=0)
    checkpoint_interval_s: float = setting(30 * SECONDS, key="checkpoint_seconds", minimum=0)
    decayed_weights: Mapping[str, Any] = setting(factory=dict, parse=_table)
    logistic_regression: Mapping[str, Any] = setting(factory=dict, parse=_table)


@dataclass(frozen=True)
class Coefficients:
    """``[logistic_regression]`` of the scoring file."""

    coefficients_file: str = setting("lead-model.example.json")


@dataclass(frozen=True)
class ScoringSettings:
    model: ScoringModel
    emit_threshold: float = ScoringFile.emit_threshold
    checkpoint_interval_s: float = ScoringFile.checkpoint_interval_s
    config_file: str = setting("scoring.toml")
    group_id: str = setting("datastreams-scoring")
    start_from: str = setting("earliest", choices=("earliest", "latest"))
    port: int = setting(9102, minimum=0, maximum=65535)
    push_to_marketo: bool = setting(False)
    push_field: str = setting("datastreamsScore")
    # [[scoring.thresholds]]: per tenant, what a score crossing up or down asks Marketo to do
    thresholds: tuple[ScoreThreshold, ...] = setting(factory=tuple, parse=read_thresholds)


def read_scoring(doc: Mapping[str, Any], files: Files) -> ScoringSettings:
    values = table(doc, "scoring")
    config_file = values.get("config_file", ScoringSettings.config_file)
    if not isinstance(config_file, str):
        raise ConfigError(
            f"Config 'scoring.config_file' has value {config_file!r}. Expected a string."
        )
    path = str(files.path(config_file))
    scoring_file = read_section(ScoringFile, path, files.toml("scoring.config_file", config_file))
    model: ScoringModel
    if scoring_file.model == "decayed-weights":
        model = parse_decayed_weights(scoring_file.decayed_weights)
    else:
        lr = read_section(Coefficients, "logistic_regression", scoring_file.logistic_regression)
        coefficients = files.json("logistic_regression.coefficients_file", lr.coefficients_file)
        model = parse_logistic_regression(coefficients, str(files.path(lr.coefficients_file)))
    return read_section(
        ScoringSettings,
        "scoring",
        values,
        model=model,
        emit_threshold=scoring_file.emit_threshold,
        checkpoint_interval_s=scoring_file.checkpoint_interval_s,
    )
