"""Broker outage: while Kafka is down the ingress answers 503 within its bound, /readyz is 503
and the metrics say so; when Kafka returns it recovers by itself, and every delivery answered
2xx is on the topic (``tools/chaos/scenarios/broker_outage.py``)."""

from tests.reliability.conftest import check
from tools.chaos.scenarios import broker_outage
from tools.chaos.scenarios.common import Context


async def test_outage_then_recovery_loses_nothing(chaos: Context) -> None:
    outcome = await broker_outage.run(chaos)
    check(outcome)
    down = outcome.details["answers_while_down"]
    assert down.get("503", 0) > 0, down  # the outage was seen, and refused, not hung
    assert outcome.details["slowest_refusal_s"] < chaos.settings.publish_timeout_s + 2
    assert outcome.details["readyz_200_after_s"] < 30
