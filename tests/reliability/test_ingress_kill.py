"""Ingress SIGKILL mid-delivery and a restart on the same port: the simulator re-sends what got
no answer, and every event it got a 2xx for is on its topic
(``tools/chaos/scenarios/ingress_kill.py``)."""

import signal

from tests.reliability.conftest import check
from tools.chaos.scenarios import ingress_kill
from tools.chaos.scenarios.common import Context


async def test_sigkill_mid_delivery_and_restart_loses_nothing(chaos: Context) -> None:
    outcome = await ingress_kill.run(chaos)
    check(outcome)
    assert outcome.details["exit_code"] == -signal.SIGKILL
    assert outcome.details["retries"] > 0  # the upstream had to re-send
