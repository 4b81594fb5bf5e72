"""The supervisor's decisions that need no process: the restart back-off, how an exit is told,
and the settings it hands to its children (pickled by multiprocessing's spawn)."""

import pickle

from hypothesis import given
from hypothesis import strategies as st

from ingest.settings import load_settings
from ingest.supervisor import (
    BACKOFF_FIRST_S,
    BACKOFF_MAX_S,
    STABLE_S,
    describe_exit,
    next_backoff,
)
from tests.support.ingress import ingress_settings


def test_backoff_doubles_to_its_ceiling_and_starts_over_after_a_stable_run() -> None:
    delays = [0.0]
    for _ in range(8):
        delays.append(next_backoff(delays[-1], ran_s=2))
    assert delays[1:] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert next_backoff(30, ran_s=STABLE_S) == BACKOFF_FIRST_S


@given(st.floats(0, 1000), st.floats(0, 10_000))
def test_backoff_stays_within_its_bounds(previous_s: float, ran_s: float) -> None:
    assert BACKOFF_FIRST_S <= next_backoff(previous_s, ran_s) <= BACKOFF_MAX_S


def test_exits_are_told_by_code_or_signal() -> None:
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(-9) == "signal SIGKILL"
    assert describe_exit(None) == "no exit code"
    assert describe_exit(-40) == "signal 40"  # real-time signals have no name


def test_the_children_get_the_settings_as_the_parent_read_them() -> None:
    settings = ingress_settings("127.0.0.1:9092", "http://127.0.0.1:1")
    assert pickle.loads(pickle.dumps(settings)) == settings
    read = load_settings({"DATASTREAMS_PROCESSES": "3", "DATASTREAMS_PORT": "9000"})
    assert pickle.loads(pickle.dumps(read)) == read
