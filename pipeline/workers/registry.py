"""The workers there are: each kind ``datastreams worker <kind>`` runs, and the spec its wing
exports. The one module that names the wings; ``settings.KINDS`` lists the same kinds, each with
its own config table."""

from collections.abc import Mapping
from types import MappingProxyType

from pipeline.errors import ConfigError
from pipeline.workers.alerting.worker import ALERTING
from pipeline.workers.scoring.worker import SCORING
from pipeline.workers.spec import WorkerSpec

WORKERS: Mapping[str, WorkerSpec] = MappingProxyType({s.kind: s for s in (ALERTING, SCORING)})


def worker_spec(kind: str) -> WorkerSpec:
    spec = WORKERS.get(kind)
    if spec is None:
        raise ConfigError(f"Worker kind {kind!r} is not one of {list(WORKERS)}.")
    return spec
