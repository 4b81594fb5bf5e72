"""SIGTERM under load, the ingress as a real process: in-flight deliveries finish, exit 0 within
the drain deadline with the summary line logged, no 2xx for an event not on Kafka; restarted,
it takes the simulator's re-sends (``tools/chaos/scenarios/sigterm.py``)."""

from tests.reliability.conftest import check
from tools.chaos.load import tenants
from tools.chaos.scenarios import sigterm
from tools.chaos.scenarios.common import Context


async def test_sigterm_under_load_drains_and_exits_zero(chaos: Context) -> None:
    outcome = await sigterm.run(chaos)
    check(outcome)
    assert outcome.details["exit_code"] == 0
    log = (chaos.work / "ingress-sigterm" / "ingress.log").read_text()
    assert not [t for t in tenants(chaos.settings) if t.token in log]  # secrets never logged
