"""How long and how hard each scenario runs: ``FULL`` for ``make chaos``, ``SHORT`` for CI.

Times are real seconds. The simulator runs with ``time_scale`` so that Marketo's 3-minute push
retries and Adobe's 1-2-4-8-15-minute retry table happen within seconds; ``fault_at_s`` is when
the fault is injected after the load starts, ``load_s`` how long events are generated, and
``drain_s`` the most the simulator may then spend delivering what is queued or being retried
(it stops as soon as nothing is left).
"""

from dataclasses import dataclass

from pipeline.config import SECONDS


@dataclass(frozen=True)
class ChaosSettings:
    tenants: int = 3
    seed: int = 6
    rate_per_s: float = 1000.0  # events/s over both upstream paths
    malformed: float = 0.01  # so the dead-letter topic carries traffic too
    # few leads, so each lead's score is built from many activities on both sides of a crash
    leads: int = 2000
    time_scale: float = 0.01  # push retry every 1.8 s, Adobe retries after 0.6, 1.2, 2.4 … s
    load_s: float = 30 * SECONDS
    fault_at_s: float = 10 * SECONDS
    drain_s: float = 60 * SECONDS
    partitions: int = 6
    outage_s: float = 8 * SECONDS  # how long the broker stays down
    publish_timeout_s: float = 2 * SECONDS  # the ingress' bound while Kafka is away
    drain_timeout_s: float = 10 * SECONDS  # the ingress' drain deadline on SIGTERM
    session_timeout_ms: int = 6000  # workers: how soon a killed replica's partitions move
    # workers: long enough for the takeover (a session timeout after the kill) and the killed
    # replica's return to happen under load
    worker_load_s: float = 30 * SECONDS
    redrive_letters: int = 3000  # dead letters of good events an "older ingress" wrote
    # Behind HAProxy (deploy/haproxy/haproxy.cfg checks /readyz every 1 s, down after 2 fails):
    # the replicas' readiness grace outlasts the 2 s the balancer needs to take one out, with
    # room for a loaded machine.
    lb_grace_s: float = 4 * SECONDS
    lb_rolling_load_s: float = 60 * SECONDS  # the whole rollout happens under load
    # a stuck replica: longer than the balancer's 9 s server timeout, so that what it held is
    # answered 504 before it resumes
    lb_stuck_s: float = 12 * SECONDS


FULL = ChaosSettings()

SHORT = ChaosSettings(
    tenants=2,
    rate_per_s=400.0,
    leads=300,
    load_s=5 * SECONDS,
    fault_at_s=2 * SECONDS,
    drain_s=30 * SECONDS,
    partitions=3,
    outage_s=2 * SECONDS,
    worker_load_s=10 * SECONDS,
    redrive_letters=1200,
    lb_rolling_load_s=30 * SECONDS,
    lb_stuck_s=10 * SECONDS,
)
