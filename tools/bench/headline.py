"""The benchmark's headline: every system's events and requests per CPU-second of its own
processes (closed loop, ``tools/bench/closed.py``), and the ingress' ratios to its ceilings and
peers measured in the same run, against the goals.

Per CPU-second, because on a shared machine a wall-clock rate says as much about the neighbours
as about the system; the CPU time a system's own processes spend per event does not.
"""

from dataclasses import dataclass
from typing import Any

from tools.bench.closed import ClosedRun


@dataclass(frozen=True)
class Goal:
    shape: str
    peer: str  # "ceiling B" or a closed-loop target's name
    unit: str  # "events" or "requests"
    at_least: float


GOALS = (
    Goal("direct-push", "ceiling B", "events", 0.7),
    Goal("adobe-batch", "ceiling B", "events", 0.5),
    Goal("adobe-single", "kafka-hooks", "requests", 1.0),
)


def _closed(runs: list[ClosedRun], target: str, shape: str) -> dict[str, Any] | None:
    for run in runs:
        if run.target == target and run.shape.name == shape:
            return run.row()
    return None


def ratios(runs: list[ClosedRun], ceiling_b: dict[str, Any] | None) -> dict[str, Any]:
    """Per goal: the ingress' figure, the peer's, their ratio and whether the goal is met."""
    out: dict[str, Any] = {}
    for goal in GOALS:
        ingress = _closed(runs, "ingress", goal.shape)
        if goal.peer == "ceiling B":
            peer = ceiling_b.get("records_per_cpu_s") if ceiling_b else None
        else:
            row = _closed(runs, goal.peer, goal.shape)
            peer = row[f"{goal.unit}_per_cpu_s"] if row else None
        mine = ingress[f"{goal.unit}_per_cpu_s"] if ingress else None
        ratio = round(mine / peer, 3) if mine is not None and peer else None
        out[goal.shape] = {
            "unit": f"{goal.unit}/CPU-s",
            "ingress": mine,
            "peer": goal.peer,
            "peer_value": peer,
            "ratio": ratio,
            "goal": goal.at_least,
            "met": ratio is not None and ratio >= goal.at_least,
        }
    return out


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def lines(
    runs: list[ClosedRun],
    ceiling_a: dict[str, Any] | None,
    ceiling_b: dict[str, Any] | None,
) -> list[str]:
    """The headline block of the printed table."""
    connections = runs[0].connections if runs else 0
    out = [
        f"  per CPU-second of each system's own processes (closed loop: wrk, {connections} "
        "connections; wall-clock rate and CPU beside)",
        f"  {'system':<13}{'shape':<14}{'events/CPU-s':>13}{'req/CPU-s':>11}{'events/s':>10}"
        f"{'req/s':>9}{'CPU%':>6}{'wrk CPU%':>9}{'p99 ms':>8}{'failed':>8}",
    ]
    for name, ceiling in (("ceiling A", ceiling_a), ("ceiling B", ceiling_b)):
        if ceiling and "records_per_cpu_s" in ceiling:
            out.append(
                f"  {name:<13}{'envelopes':<14}{ceiling['records_per_cpu_s']:>13,.0f}{'':>11}"
                f"{ceiling['records_per_s']:>10,.0f}"
            )
    for run in runs:
        r = run.row()
        out.append(
            f"  {r['target']:<13}{r['shape']:<14}{r['events_per_cpu_s']:>13,.0f}"
            f"{r['requests_per_cpu_s']:>11,.0f}{r['events_per_s']:>10,.0f}"
            f"{r['requests_per_s']:>9,.0f}{r['cpu_percent']:>6.0f}"
            f"{r['generator_cpu_percent']:>9.0f}{r['p99_ms']:>8.1f}{r['failed']:>8}"
        )
    out.append("  ratios (ingress ÷ peer, same run):")
    for shape, g in ratios(runs, ceiling_b).items():
        out.append(
            f"    [{'x' if g['met'] else ' '}] {shape:<13} {_fmt(g['ingress'], ',.0f')} ÷ "
            f"{g['peer']} {_fmt(g['peer_value'], ',.0f')} {g['unit']} = "
            f"{_fmt(g['ratio'], '.2f')} (goal ≥ {g['goal']:.1f})"
        )
    return out
