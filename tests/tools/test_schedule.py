"""The upstreams' delivery policies as pure values (docs/protocol.md)."""

import pytest

from pipeline.config import MINUTES
from tools.simulate.schedule import (
    PushPhase,
    PushState,
    Verdict,
    retry_offsets_s,
    retry_wait_s,
    verdict,
)
from tools.simulate.settings import AdobeIoSettings, DirectPushSettings

PUSH = DirectPushSettings()
ADOBE = AdobeIoSettings()


def test_direct_push_retries_three_times_three_minutes_apart_then_pauses() -> None:
    state = PushState()
    seen = []
    for _ in range(6):
        state = state.after(False, PUSH)
        seen.append((state.phase, state.failures, state.wait_s(PUSH)))
    assert seen == [
        (PushPhase.RETRYING, 1, 3 * MINUTES),
        (PushPhase.RETRYING, 2, 3 * MINUTES),
        (PushPhase.RETRYING, 3, 3 * MINUTES),
        (PushPhase.PAUSED, 4, 3 * MINUTES),  # re-enable attempts every 3 minutes
        (PushPhase.PAUSED, 5, 3 * MINUTES),
        (PushPhase.PAUSED, 6, 3 * MINUTES),
    ]


@pytest.mark.parametrize("failures", [0, 1, 3, 7])
def test_any_success_reenables_the_two_second_cadence(failures: int) -> None:
    state = PushState()
    for _ in range(failures):
        state = state.after(False, PUSH)
    state = state.after(True, PUSH)
    assert state == PushState(PushPhase.ACTIVE, 0)
    assert state.wait_s(PUSH) == 2.0


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Verdict.ACKNOWLEDGED),
        (202, Verdict.ACKNOWLEDGED),
        (204, Verdict.ACKNOWLEDGED),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (504, Verdict.RETRY),
        (599, Verdict.RETRY),
        (None, Verdict.RETRY),  # timeout or no response
        (505, Verdict.DROP),
        (400, Verdict.DROP),
        (401, Verdict.DROP),
        (403, Verdict.DROP),
        (404, Verdict.DROP),
        (413, Verdict.DROP),
        (301, Verdict.DROP),
    ],
)
def test_adobe_retries_only_429_5xx_but_505_and_timeouts(
    status: int | None, expected: Verdict
) -> None:
    assert verdict(status) is expected


def test_adobe_retry_table_1_2_4_8_then_15_minutes() -> None:
    waits = [retry_wait_s(n, ADOBE) / MINUTES for n in range(1, 8)]
    assert waits == [1, 2, 4, 8, 15, 15, 15]


def test_adobe_retries_stop_within_24_hours() -> None:
    offsets = retry_offsets_s(ADOBE)
    assert offsets[:5] == [1 * MINUTES, 3 * MINUTES, 7 * MINUTES, 15 * MINUTES, 30 * MINUTES]
    assert offsets[-1] <= 24 * 60 * MINUTES < offsets[-1] + 15 * MINUTES
    assert len(offsets) == 4 + (24 * 60 - 15) // 15
