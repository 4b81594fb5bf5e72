"""Worker crash and rebalance, as processes: one replica of each worker SIGKILLed under load,
the other takes over, the killed one returns. No alert missing or fired twice, every alert's
signed webhook at least once at an idempotent receiver, every activity counted once, final
scores identical to an uninterrupted run
(``tools/chaos/scenarios/worker_crash.py``)."""

from tests.reliability.conftest import check
from tools.chaos.scenarios import worker_crash
from tools.chaos.scenarios.common import Context


async def test_a_killed_replica_changes_no_alert_and_no_score(chaos: Context) -> None:
    outcome = await worker_crash.run(chaos)
    check(outcome)
    d = outcome.details
    assert all(d["partitions_held_by_killed"].values())  # the crash took partitions with it
    assert d["alerts_reference"] > 0  # the load fires alerts, so a duplicate would show
    assert d["activities"] > 2 * d["leads_scored"]  # scores built from several activities
    # every alert's webhook at least once; the receiver's dedup by webhook-id leaves one each
    assert d["webhooks_unique"] == d["webhooks_reference"] == d["alerts_reference"]
    assert d["webhook_arrivals"] >= d["webhooks_unique"]
