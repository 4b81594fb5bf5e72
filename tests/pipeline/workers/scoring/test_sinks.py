"""The score push-back sink against a fake Marketo REST server."""

import aiohttp

from pipeline.marketo.client import MarketoClient
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.sinks import MarketoScoreSink
from tests.pipeline.events import MUNCHKIN
from tests.pipeline.workers.fakes import FakeMarketo, instance, sample


async def test_score_push_back_updates_the_field_in_batches_of_300(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    metrics = WorkerMetrics.create()
    sink = MarketoScoreSink(
        {MUNCHKIN: MarketoClient(session, instance(base))}, "leadScoreDs", metrics
    )
    scores = [(MUNCHKIN, str(i), i / 3) for i in range(1, 351)]
    await sink.push([*scores, ("999-NOP-999", "5", 1.0), (MUNCHKIN, "not-a-number", 2.0)])
    syncs = [c[1] for c in fake.calls if c[0] == "sync_leads"]
    assert [len(s["input"]) for s in syncs] == [300, 50]
    assert syncs[0]["input"][0] == {"id": 1, "leadScoreDs": 0.3333}
    assert fake.fields[350] == {"leadScoreDs": 116.6667}
    assert sample(metrics, "marketo_push", "ok") == 350
    assert sample(metrics, "marketo_push", "skipped") == 2
