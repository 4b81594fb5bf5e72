"""The bench worker phase's bookkeeping, without a broker: repetitions, medians, checks."""

import pytest

from tools.bench.report import BenchResult, checks, table
from tools.bench.workers import WorkerRun, median_runs, topic_names


def run(kind: str, ratio: float, repeat: int) -> WorkerRun:
    """A run whose CPU per record is ``ratio`` times the bare consumer's 5 µs."""
    return WorkerRun(
        kind,
        100_000,
        2.0,
        consumer_per_s=100_000.0,
        cpu_seconds=100_000 * ratio * 5e-6,
        repeat=repeat,
        consumer_cpu_before_s=4.5e-6,  # 5 µs between them
        consumer_cpu_after_s=5.5e-6,
    )


RUNS = [
    run("alerting", 1.6, 0),
    run("scoring", 2.05, 0),
    run("alerting", 1.9, 1),
    run("scoring", 1.95, 1),
    run("alerting", 1.3, 2),
    run("scoring", 2.2, 2),
]


def test_the_median_repetition_per_kind() -> None:
    assert [(r.kind, r.repeat) for r in median_runs(RUNS)] == [("alerting", 0), ("scoring", 0)]
    # an even count: the lower middle one
    assert median_runs(RUNS[:4]) == [RUNS[0], RUNS[3]]
    assert median_runs([]) == []


def test_the_cpu_ratio_is_judged_on_the_median_not_the_best_run() -> None:
    result = BenchResult(
        smoke=False, ceiling_a=None, ceiling_b=None, envelope_bytes=0, workers=RUNS
    )
    found = checks(result, {}, None)
    label = "worker CPU per record <= 2.0 x bare consumer's (median run)"
    assert found[f"alerting {label}"] is True
    assert found[f"scoring {label}"] is False  # the best run was 1.95
    assert not any("events/s" in name for name in found if "worker" in name)  # no absolute target
    text = table(result)
    assert "CPU per record 10.25 µs ÷ bare consumer's 5.00 µs = 2.05" in text
    assert "median of 3 runs: CPU ÷ consumer 2.05, 1.95, 2.20" in text
    assert RUNS[0].row()["cpu_vs_consumer"] == 1.6


def test_a_worker_is_judged_against_the_bare_consumers_before_and_after_it() -> None:
    assert RUNS[0].consumer_cpu_per_record_s == pytest.approx(5e-6)  # their mean
    assert RUNS[0].cpu_vs_consumer == pytest.approx(1.6)
    row = RUNS[0].row()
    assert (row["consumer_cpu_us_before"], row["consumer_cpu_us_after"]) == (4.5, 5.5)
    assert row["consumer_cpu_us_per_record"] == 5.0


def test_every_repetition_has_its_own_topics() -> None:
    names = topic_names("bench-w", 3, repeats=2)
    assert len(names) == len(set(names)) == 2 * len(topic_names("x", 3))
    assert {n.split(".")[0] for n in names} == {"bench-w-0", "bench-w-1"}


def test_only_workers_runs_that_phase_into_its_own_directory() -> None:
    import argparse
    from pathlib import Path

    import pytest

    from tools.bench.cli import add_arguments, settings_from

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    only = settings_from(parser.parse_args(["--bootstrap", "127.0.0.1:9", "--only-workers"]))
    assert (only.only_workers, only.workers, only.out_dir) == (
        True,
        True,
        Path("var/bench-workers"),
    )
    full = settings_from(parser.parse_args(["--bootstrap", "127.0.0.1:9"]))
    assert (full.only_workers, full.out_dir) == (False, Path("var/bench"))
    with pytest.raises(SystemExit):
        parser.parse_args(["--bootstrap", "127.0.0.1:9", "--only-workers", "--no-workers"])
