"""The bench worker phase's bookkeeping, without a broker: repetitions, medians, checks."""

from tools.bench.report import BenchResult, checks, table
from tools.bench.workers import WorkerRun, median_runs, topic_names


def run(kind: str, per_s: float, repeat: int) -> WorkerRun:
    return WorkerRun(kind, int(per_s), 1.0, consumer_per_s=2 * per_s, repeat=repeat)


RUNS = [
    run("alerting", 61_000, 0),
    run("scoring", 48_000, 0),
    run("alerting", 55_000, 1),
    run("scoring", 52_000, 1),
    run("alerting", 70_000, 2),
    run("scoring", 44_000, 2),
]


def test_the_median_repetition_per_kind() -> None:
    assert [(r.kind, r.repeat) for r in median_runs(RUNS)] == [("alerting", 0), ("scoring", 0)]
    # an even count: the lower middle one
    assert median_runs(RUNS[:4]) == [RUNS[2], RUNS[1]]
    assert median_runs([]) == []


def test_the_target_is_judged_on_the_median_not_the_best_run() -> None:
    result = BenchResult(
        smoke=False, ceiling_a=None, ceiling_b=None, envelope_bytes=0, workers=RUNS
    )
    found = checks(result, {}, None)
    assert found["alerting worker >= 50,000 events/s (median run)"] is True
    assert found["scoring worker >= 50,000 events/s (median run)"] is False  # best was 52,000
    text = table(result)
    assert "median of 3 runs: 48,000, 52,000, 44,000 events/s" in text


def test_every_repetition_has_its_own_topics() -> None:
    names = topic_names("bench-w", 3, repeats=2)
    assert len(names) == len(set(names)) == 2 * len(topic_names("x", 3))
    assert {n.split(".")[0] for n in names} == {"bench-w-0", "bench-w-1"}
