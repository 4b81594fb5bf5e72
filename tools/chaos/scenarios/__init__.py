"""The scenarios, in the order ``make chaos`` runs them: name → ``run(Context)``."""

from collections.abc import Awaitable, Callable

from tools.chaos.report import ScenarioResult
from tools.chaos.scenarios import (
    broker_outage,
    cluster,
    ingress_kill,
    redrive,
    sigterm,
    worker_crash,
)
from tools.chaos.scenarios.balancer import broker_restart, replica_kill, replica_stuck, rolling
from tools.chaos.scenarios.common import Context

Scenario = Callable[[Context], Awaitable[ScenarioResult]]

SCENARIOS: dict[str, Scenario] = {
    "broker-outage": broker_outage.run,
    "ingress-sigkill": ingress_kill.run,
    "ingress-sigterm": sigterm.run,
    "worker-crash": worker_crash.run,
    "cluster": cluster.run,
    "redrive": redrive.run,
    "lb-rolling-restart": rolling.run,
    "lb-replica-sigkill": replica_kill.run,
    "lb-replica-stuck": replica_stuck.run,
    "lb-broker-restart": broker_restart.run,
}
