"""Finding gaps (pure): silences longer than the threshold, the window's edges included, and the
command that recovers each one, by what is configured and how old the gap is."""

from datetime import UTC, datetime, timedelta

from ingest.recover.gaps import Gap, commands, find_gaps

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(minutes: float) -> float:
    return (T0 + timedelta(minutes=minutes)).timestamp()


def test_silences_longer_than_the_threshold_are_gaps_edges_included() -> None:
    times = {
        ("M", "lead-activity"): [at(5), at(10), at(100), at(105)],
        ("M", "user-audit"): [],
        ("N", "lead-activity"): [at(m) for m in range(0, 121, 10)],
    }
    gaps = find_gaps(times, T0, T0 + timedelta(minutes=120), timedelta(minutes=30))
    assert [(g.tenant, g.stream, g.start, g.end) for g in gaps] == [
        ("M", "lead-activity", T0 + timedelta(minutes=10), T0 + timedelta(minutes=100)),
        ("M", "user-audit", T0, T0 + timedelta(minutes=120)),
    ]


def test_times_outside_the_window_do_not_hide_a_gap() -> None:
    times = {("M", "notification"): [at(-50), at(200)]}
    gaps = find_gaps(times, T0, T0 + timedelta(minutes=60), timedelta(minutes=30))
    assert len(gaps) == 1


def test_each_gap_gets_the_commands_that_can_recover_it() -> None:
    now = T0 + timedelta(days=1)
    lead = Gap("M", "lead-activity", T0, T0 + timedelta(hours=2))
    assert commands(lead, {"M": "prod"}, ["M"], now) == [
        "datastreams journal --registration prod --seek=-PT86700S",
        "datastreams backfill marketo --tenant M --since 2026-03-01T00:00:00Z "
        "--until 2026-03-01T02:00:00Z",
    ]
    audit = Gap("M", "user-audit", T0, T0 + timedelta(hours=2))
    assert commands(audit, {"M": "prod"}, ["M"], now) == [
        "datastreams journal --registration prod --seek=-PT86700S"
    ]
    old = now + timedelta(days=8)
    assert commands(audit, {"M": "prod"}, ["M"], old) == []  # older than the journal keeps
    assert commands(lead, {}, [], now) == []
