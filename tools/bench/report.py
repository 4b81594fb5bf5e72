"""The benchmark's results: a table with the ratios, a JSON report and a PNG plot."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tools.bench import headline, profile
from tools.bench.closed import ClosedRun
from tools.bench.ramp import ShapeRun, Step
from tools.bench.workers import TARGET_CPU_VS_CONSUMER, WorkerRun, median_runs

MB = 2**20
TARGETS = {
    **{f"{g.shape}_per_cpu_s_vs_{g.peer}": g.at_least for g in headline.GOALS},
    "p99_at_half_ms": 50,
    "rss_mb": 200,
    "worker_cpu_vs_consumer": TARGET_CPU_VS_CONSUMER,
}


@dataclass
class BenchResult:
    smoke: bool
    ceiling_a: dict[str, Any] | None
    ceiling_b: dict[str, Any] | None
    envelope_bytes: float
    runs: list[ShapeRun] = field(default_factory=list)
    closed: list[ClosedRun] = field(default_factory=list)
    workers: list[WorkerRun] = field(default_factory=list)
    profiles: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    load_average: list[float] = field(default_factory=list)  # 1-min load at start and end

    def run(self, target: str, shape: str) -> ShapeRun | None:
        for r in self.runs:
            if r.target == target and r.shape.name == shape:
                return r
        return None

    @property
    def workers_only(self) -> bool:
        """Only the worker phase ran (``--only-workers``): nothing of the ingress to report."""
        return not (self.runs or self.closed or self.ceiling_a or self.ceiling_b)

    def ingress_rss_mb(self) -> float:
        steps = [s for r in self.runs if r.target == "ingress" for s in r.steps]
        return max((s.rss_max_bytes for s in steps), default=0) / MB


def _ratio(a: float, b: float | None) -> float | None:
    return round(a / b, 3) if b else None


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def shed_fraction(step: Step) -> float:
    statuses = step.result["statuses"]
    shed = int(statuses.get("429", 0)) + int(statuses.get("503", 0))
    return shed / max(1, int(step.result["completed"]))


def summary(result: BenchResult) -> dict[str, Any]:
    """Per shape: the ingress' max, its ratios to the ceilings and to express, and the checks."""
    a = result.ceiling_a["records_per_s"] if result.ceiling_a else None
    b = result.ceiling_b["records_per_s"] if result.ceiling_b else None
    shapes: dict[str, Any] = {}
    for run in (r for r in result.runs if r.target == "ingress"):
        events = run.max_per_s * run.shape.events
        express = result.run("express", run.shape.name)
        half, over = run.half, run.overload
        shapes[run.shape.name] = {
            "label": run.shape.label,
            "max_deliveries_per_s": round(run.max_per_s, 1),
            "max_events_per_s": round(events, 1),
            "p99_at_half_ms": round(half.result["latency_ms"]["p99"], 2) if half else None,
            "p50_at_half_ms": round(half.result["latency_ms"]["p50"], 2) if half else None,
            "cpu_percent_at_max": round(max(s.cpu_percent for s in run.steps), 1),
            "generator_cpu_percent_max": round(max(s.generator_cpu_percent for s in run.steps), 1),
            "vs_ceiling_b": _ratio(events, b),
            "vs_ceiling_a": _ratio(events, a),
            "express_max_deliveries_per_s": round(express.max_per_s, 1) if express else None,
            "vs_express": _ratio(run.max_per_s, express.max_per_s if express else None),
            "overload": None
            if over is None
            else {
                "offered_per_s": round(over.offered_per_s, 1),
                "shed_fraction": round(shed_fraction(over), 3),
                "statuses": over.result["statuses"],
                "unsent": over.result["unsent"],
                "service_p99_ms": round(over.result["service_ms"]["p99"], 1),
                "rss_max_mb": round(over.rss_max_bytes / MB, 1),
            },
        }
    return {
        "shapes": shapes,
        "per_cpu": [r.row() for r in result.closed],
        "ratios": headline.ratios(result.closed, result.ceiling_b),
        "workers": {r.kind: r.row() for r in median_runs(result.workers)},
        "checks": checks(result, shapes, b),
    }


def checks(result: BenchResult, shapes: dict[str, Any], b: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for shape, g in headline.ratios(result.closed, result.ceiling_b).items():
        if not result.workers_only:
            out[f"{shape} per CPU-s >= {g['goal']:.1f} x {g['peer']}"] = g["met"]
    for name, s in shapes.items():
        if s["p99_at_half_ms"] is not None:
            out[f"{name} p99 <= 50 ms at half max"] = s["p99_at_half_ms"] <= 50
        over = s["overload"]
        if over is not None:
            out[f"{name} sheds at 5x with 429/503, RSS <= 200 MB"] = (
                over["shed_fraction"] > 0 and over["rss_max_mb"] <= 200
            )
    if not result.workers_only:
        out["ingress RSS <= 200 MB"] = result.ingress_rss_mb() <= 200
    for run in median_runs(result.workers):
        label = f"{run.kind} worker CPU per record <= {TARGET_CPU_VS_CONSUMER} x bare consumer's"
        out[f"{label} (median run)"] = 0 < run.cpu_vs_consumer <= TARGET_CPU_VS_CONSUMER
    return out


def table(result: BenchResult) -> str:
    s = summary(result)
    lines = ["datastreams bench" + (" (smoke: figures not meaningful)" if result.smoke else "")]
    if not result.workers_only:
        lines += _ingress_lines(result, s)
    for run in median_runs(result.workers):
        every = [r for r in result.workers if r.kind == run.kind]
        lines.append(
            f"  worker {run.kind:<25}CPU per record {run.cpu_per_record_s * 1e6:.2f} µs ÷ bare "
            f"consumer's {run.consumer_cpu_per_record_s * 1e6:.2f} µs = "
            f"{run.cpu_vs_consumer:.2f}; {run.events_per_s:,.0f} events/s handled "
            f"({run.records:,} records in {run.seconds:.2f} s, one process); bare consumer "
            f"{run.consumer_per_s:,.0f}/s"
        )
        if len(every) > 1:
            lines.append(
                f"  {'':<32}median of {len(every)} runs: CPU ÷ consumer "
                + ", ".join(f"{r.cpu_vs_consumer:.2f}" for r in every)
                + "; events/s "
                + ", ".join(f"{r.events_per_s:,.0f}" for r in every)
            )
    if not result.workers_only:
        missed = profile.missed_goal_profiles(s["ratios"], result.profiles)
        if missed:
            lines += ["", "  where the time goes, for each ratio missed:"]
            lines += [f"    {head}: {where}" for head, where in missed]
    rss = "" if result.workers_only else f"ingress peak RSS {result.ingress_rss_mb():.1f} MB; "
    lines += ["", f"  {rss}checks:"]
    lines += [f"    [{'x' if ok else ' '}] {name}" for name, ok in s["checks"].items()]
    lines += [f"  problem: {p}" for p in result.problems]
    load = "/".join(f"{x:.1f}" for x in result.load_average)
    lines.append(
        f"  ({result.elapsed_s:.0f} s on {os.cpu_count()} cores, 1-min load average at start/end "
        f"{load}; ÷A and ÷B compare events/s, ÷expr deliveries/s)"
    )
    return "\n".join(lines)


def _ingress_lines(result: BenchResult, s: dict[str, Any]) -> list[str]:
    a, b = result.ceiling_a, result.ceiling_b
    lines = [
        *headline.lines(result.closed, a, b),
        "",
        "  open loop (Python generators, rising rate), wall clock:",
        f"  ceiling A  ProducerPerformance, envelopes of ~{result.envelope_bytes:.0f} B, "
        f"acks=all: {_fmt(a['records_per_s'] if a else None, ',.0f')} records/s",
        f"  ceiling B  raw aiokafka batch path, same envelopes:           "
        f"{_fmt(b['records_per_s'] if b else None, ',.0f')} records/s",
        "",
        f"  {'shape':<32}{'max deliv/s':>12}{'events/s':>11}{'p50|p99 @half ms':>18}"
        f"{'CPU%':>6}{'gen%':>6}{'express/s':>11}{'÷B':>7}{'÷A':>7}{'÷expr':>7}"
        f"{'5x: shed':>10}{'p99 ms':>8}{'RSS MB':>8}",
    ]
    for shape in s["shapes"].values():
        over = shape["overload"] or {}
        half = f"{_fmt(shape['p50_at_half_ms'], '.1f')}|{_fmt(shape['p99_at_half_ms'], '.1f')}"
        lines.append(
            f"  {shape['label']:<32}{shape['max_deliveries_per_s']:>12,.1f}"
            f"{shape['max_events_per_s']:>11,.0f}{half:>18}{shape['cpu_percent_at_max']:>6.0f}"
            f"{shape['generator_cpu_percent_max']:>6.0f}"
            f"{_fmt(shape['express_max_deliveries_per_s'], ',.1f'):>11}"
            f"{_fmt(shape['vs_ceiling_b']):>7}{_fmt(shape['vs_ceiling_a']):>7}"
            f"{_fmt(shape['vs_express']):>7}"
            f"{_fmt(over.get('shed_fraction'), '.0%'):>10}"
            f"{_fmt(over.get('service_p99_ms'), ',.0f'):>8}{_fmt(over.get('rss_max_mb'), '.0f'):>8}"
        )
    return lines


def to_json(result: BenchResult) -> dict[str, Any]:
    return {
        "smoke": result.smoke,
        "elapsed_s": round(result.elapsed_s, 1),
        "cores": os.cpu_count(),
        "load_average": result.load_average,
        "targets": TARGETS,
        "envelope_bytes": round(result.envelope_bytes, 1),
        "ceiling_a": result.ceiling_a,
        "ceiling_b": result.ceiling_b,
        "summary": summary(result),
        "runs": [
            {
                "target": r.target,
                "shape": r.shape.name,
                "events_per_delivery": r.shape.events,
                "max_deliveries_per_s": r.max_per_s,
                "steps": [s.row() for s in r.steps],
            }
            for r in result.runs
        ],
        "workers": [run.row() for run in result.workers],
        "profiles": result.profiles,
        "problems": result.problems,
    }


def write(result: BenchResult, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = to_json(result)
    report = out_dir / "bench.json"
    report.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    plot = out_dir / "bench.png"
    draw(doc, plot)
    return report, plot


def draw(doc: dict[str, Any], path: Path) -> None:
    """Latency (p50, p99) against acknowledged events/s, one panel per shape; the 5x overload
    step is a separate marker. Drawn from the JSON report, so a report can be re-plotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = doc["runs"]
    names = list(dict.fromkeys(r["shape"] for r in runs))
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(6 * max(1, len(names)), 4.5))
    axes_list = list(axes) if len(names) > 1 else [axes]
    colors = {"ingress": "tab:blue", "express": "tab:orange"}
    labels = {k: v["label"] for k, v in doc["summary"]["shapes"].items()}
    for ax, name in zip(axes_list, names, strict=False):
        for run in (r for r in runs if r["shape"] == name):
            color = colors.get(run["target"], "gray")
            steps = sorted(
                (s for s in run["steps"] if s["phase"] in ("ramp", "half")),
                key=lambda s: s["offered_per_s"],
            )
            x = [max(1.0, s["events_per_s"]) for s in steps]
            for q, style in (("p99", "o-"), ("p50", "x--")):
                ax.plot(
                    x,
                    [s["latency_ms"][q] for s in steps],
                    style,
                    color=color,
                    alpha=1.0 if q == "p99" else 0.6,
                    label=f"{run['target']} {q}",
                )
            for s in (s for s in run["steps"] if s["phase"] == "overload"):
                if s["events_per_s"] <= 0:  # nothing acknowledged: say so instead of a point
                    height = (
                        0.02 + 0.06 * list(colors).index(run["target"])
                        if run["target"] in colors
                        else 0.14
                    )
                    ax.annotate(f"{run['target']} 5x: none acknowledged", (0.02, height),
                                xycoords="axes fraction", fontsize=7, color=color)  # fmt: skip
                    continue
                ax.plot(
                    [s["events_per_s"]],
                    [max(0.1, s["service_ms"]["p99"])],
                    "v",
                    color=color,
                    markersize=9,
                    label=f"{run['target']} 5x overload p99",
                )
        if name == "direct-push":
            for label, key, style in (("A", "ceiling_a", ":"), ("B", "ceiling_b", "-.")):
                if doc.get(key):
                    ax.axvline(
                        doc[key]["records_per_s"],
                        color="gray",
                        linestyle=style,
                        label=f"ceiling {label}",
                    )
        ax.axhline(50, color="red", linewidth=0.7, alpha=0.5, label="50 ms")
        ax.set_title(labels.get(name, name))
        ax.set_xlabel("acknowledged events/s")
        ax.set_ylabel("latency ms (open loop, from due time)")
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("datastreams ingress vs Kafka ceilings and Adobe's express sample (one run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # re-plot a report: python -m tools.bench.report var/bench/bench.json
    import sys

    source = Path(sys.argv[1])
    draw(orjson.loads(source.read_bytes()), source.with_suffix(".png"))
