"""Dead-letter redrive under load, SIGKILLed after its first chunk, run again, then once more:
every fixed event on its topic, nothing redriven twice by the last run
(``tools/chaos/scenarios/redrive.py``)."""

from tests.reliability.conftest import check
from tools.chaos.scenarios import redrive
from tools.chaos.scenarios.common import Context


async def test_a_redrive_killed_half_way_completes_on_rerun(chaos: Context) -> None:
    outcome = await redrive.run(chaos)
    check(outcome)
    d = outcome.details
    assert 0 < d["redriven_by_rerun"] < d["fixed_letters"]  # the kill left work for the rerun
    assert d["redriven_by_third_run"] == 0
