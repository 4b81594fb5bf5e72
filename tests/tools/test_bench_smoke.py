"""``datastreams bench --smoke`` runs end to end (ceilings, ingress, express sample, kafka-hooks,
closed and open loop, workers, report) against the session's broker. Figures are not asserted:
the machine is shared."""

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

# kafka-hooks' first `npm ci` (its Node binary included) takes most of a minute on a new machine
SMOKE_TIMEOUT_S = 240


@pytest.mark.timeout(SMOKE_TIMEOUT_S + 30)
def test_bench_smoke_runs_end_to_end(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    argv = [sys.executable, "-m", "ingest", "bench", "--smoke"]
    argv += ["--bootstrap", kafka_bootstrap, "--out", str(out)]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "÷B" in proc.stdout
    report = orjson.loads((out / "bench.json").read_bytes())
    assert report["ceiling_a"]["records_per_s"] > 0
    assert report["ceiling_b"]["records_per_s"] > 0
    runs = {(r["target"], r["shape"]) for r in report["runs"]}
    shapes = {"direct-push", "adobe-batch", "adobe-single"}
    expected = {(t, s) for t in ("ingress", "express") for s in shapes}
    expected.add(("kafka-hooks", "adobe-single"))  # one record per body: single events only
    assert runs == expected
    for run in report["runs"]:
        assert [s["phase"] for s in run["steps"]] == ["ramp", "half", "overload"]
        assert all(s["events_per_cpu_s"] > 0 for s in run["steps"] if s["events_ok"])
    # the closed-loop runs (wrk) of the same systems and shapes, charged their own CPU
    closed = {(r["target"], r["shape"]): r for r in report["summary"]["per_cpu"]}
    assert set(closed) == expected
    for row in closed.values():
        assert row["requests_ok"] > 0, row
        assert row["cpu_s"] > 0, row
        assert row["requests_per_cpu_s"] == pytest.approx(row["requests_ok"] / row["cpu_s"], 0.01)
    for ceiling in ("ceiling_a", "ceiling_b"):
        assert report[ceiling]["records_per_cpu_s"] > 0
    ratios = report["summary"]["ratios"]
    assert set(ratios) == shapes
    assert ratios["adobe-single"]["peer"] == "kafka-hooks"
    assert all(r["ratio"] is not None for r in ratios.values())
    assert "events/CPU-s" in proc.stdout
    workers = {w["kind"]: w for w in report["workers"]}
    assert set(workers) == {"alerting", "scoring"}
    assert all(w["records"] > 0 and w["events_per_s"] > 0 for w in workers.values())
    # the bare consumer ran side by side, and the ratio is the two figures' quotient
    for w in workers.values():
        assert w["consumer_events_per_s"] > 0
        assert w["vs_consumer"] == pytest.approx(
            w["events_per_s"] / w["consumer_events_per_s"], abs=0.002
        )
    assert "worker alerting" in proc.stdout
    assert (out / "bench.png").stat().st_size > 10_000
