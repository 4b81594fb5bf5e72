import io

import orjson

from pipeline.settings import KafkaSettings
from pipeline.tail import tail
from tests.support import payloads as p
from tests.support.ingress import Ingress


async def test_tail_prints_what_landed(ingress: Ingress) -> None:
    activity = p.activity()
    assert (await ingress.post_push(p.direct_push([activity]))).status == 200
    out = io.StringIO()
    topic = ingress.topics.lead_activity.name
    assert (
        await tail(
            KafkaSettings(bootstrap_servers=ingress.bootstrap),
            topic,
            max_records=10,
            idle_s=1.0,
            out=out,
        )
        == 0
    )
    [line] = out.getvalue().splitlines()
    doc = orjson.loads(line)
    assert doc["value"]["id"] == activity["marketoGUID"]
    assert doc["headers"]["ce_id"] == activity["marketoGUID"]
    assert (
        await tail(
            KafkaSettings(bootstrap_servers=ingress.bootstrap),
            "no-such-topic",
            max_records=1,
            idle_s=0.5,
        )
        == 1
    )
