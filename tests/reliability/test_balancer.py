"""Behind a real HAProxy (the shipped ``deploy/haproxy/haproxy.cfg``), three replicas under
simulator load with both workers consuming (``tools/chaos/scenarios/balancer/``): a rolling
restart, a replica killed, a replica stuck, the broker restarted. Nothing lost, no duplicate
effect, and what the upstreams saw is what the docs say they see."""

import pytest

from tests.reliability.conftest import check
from tools.chaos.scenarios.balancer import broker_restart, replica_kill, replica_stuck, rolling
from tools.chaos.scenarios.common import Context


async def test_a_rolling_restart_shows_the_upstreams_only_2xx_and_retried_503s(
    chaos: Context,
) -> None:
    outcome = await rolling.run(chaos)
    check(outcome)
    assert set(outcome.errors or {}) <= {"503"}, outcome.errors
    steps = outcome.details["steps"]
    assert [s["exit_code"] for s in steps] == [0, 0, 0]
    # out of the balancer before the listener closed, back in before the next one went
    assert all(s["marked_down_s"] < chaos.settings.lb_grace_s for s in steps), steps
    assert outcome.details["load_left_after_rollout_s"] > 0


async def test_a_killed_replica_is_marked_down_and_its_deliveries_land_once(
    chaos: Context,
) -> None:
    outcome = await replica_kill.run(chaos)
    check(outcome)
    assert outcome.recover_s is not None
    assert outcome.recover_s <= replica_kill.MARKED_DOWN_BOUND_S
    assert outcome.details["alerts_reference"] > 0  # alerts fire, so a duplicate would show
    assert outcome.details["back_up_s"] is not None


async def test_a_stuck_replica_costs_504s_before_adobes_timeout_and_no_duplicate_effect(
    chaos: Context,
) -> None:
    outcome = await replica_stuck.run(chaos)
    check(outcome)
    assert outcome.details["slowest_answer_s"] < 10  # answered before Adobe gives up
    assert set(outcome.errors or {}) <= {"502", "503", "504", "no-answer"}, outcome.errors
    assert outcome.details["stuck_s"] > 9  # past the balancer's server timeout


# Two broker starts (its own, then the restart) take up to a minute each on a loaded 2-core
# machine: past the default 120 s.
@pytest.mark.timeout(240)
async def test_a_broker_restart_makes_the_balancer_answer_503_at_once_then_recovers(
    chaos: Context,
) -> None:
    outcome = await broker_restart.run(chaos)
    check(outcome)
    d = outcome.details
    assert d["answered_503_by_the_balancer"] > 0, d  # every replica out: HAProxy answered
    assert set(d["answers_while_down"]) <= {"503"}, d
    assert d["slowest_answer_while_down_s"] < chaos.settings.publish_timeout_s + 2
