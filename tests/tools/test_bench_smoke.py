"""``datastreams bench --smoke`` runs end to end (ceilings, ingress, express sample, workers,
report) against the session's broker. Figures are not asserted: the machine is shared."""

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

SMOKE_TIMEOUT_S = 110


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
    assert runs == {(t, s) for t in ("ingress", "express") for s in shapes}
    for run in report["runs"]:
        assert [s["phase"] for s in run["steps"]] == ["ramp", "half", "overload"]
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
