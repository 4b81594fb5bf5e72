"""A three-broker KRaft cluster on loopback (replication factor 3, min.insync.replicas 2): one
broker is killed under load; no acknowledged event is lost and the ingress keeps serving
(``tools/chaos/scenarios/cluster.py``)."""

from tests.reliability.conftest import check
from tools.chaos.scenarios import cluster
from tools.chaos.scenarios.common import Context


async def test_killing_one_of_three_brokers_loses_nothing(chaos: Context) -> None:
    outcome = await cluster.run(chaos)
    check(outcome)
    assert outcome.details["answers_after_kill"].get("200", 0) > 0
