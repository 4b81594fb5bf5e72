"""End to end: simulator → ingress → Kafka, with duplicates and malformed events. Every id the
simulator got a 2xx for is on its topic; malformed ones are on the dead-letter topic with the
reason; duplicates arrive as often as they were acknowledged (the ingress does not dedupe)."""

import io
from collections import Counter
from pathlib import Path

import orjson

from ingest.secrets import ApiToken
from ingest.settings import LimitSettings
from ingest.tenant_settings import Tenant
from tests.support.ingress import IngressFactory, Signer
from tools.simulate.run import Simulator
from tools.simulate.settings import SimulatorSettings
from tools.simulate.tenants import make_tenants


async def test_every_acknowledged_event_is_on_its_topic(
    make_ingress: IngressFactory, signer: Signer, tmp_path: Path
) -> None:
    sim_tenants = make_tenants(3, seed=11)
    ingress = await make_ingress(
        tenants=tuple(
            Tenant(t.munchkin_id, (ApiToken.from_plain(t.token),), t.client_id) for t in sim_tenants
        ),
        limits=LimitSettings(events_per_s=1e6, events_burst=10**6, deliveries_per_s=1e5),
    )
    acks = tmp_path / "acks.jsonl"
    settings = SimulatorSettings(
        url=str(ingress.client.make_url("")).rstrip("/"),
        tenants=3,
        seed=11,
        time_scale=0.1,  # a push every 200 ms
        rate_per_s=1500.0,
        duration_s=2.0,
        drain_s=4.0,
        duplicates=0.05,
        malformed=0.03,
        ack_file=acks,
    )
    simulator = Simulator(settings, out=io.StringIO(), keys=(signer.first, signer.second))
    result = await simulator.run()
    assert result.unverified_registrations == 0
    lines = [orjson.loads(line) for line in acks.read_bytes().splitlines()]
    assert len(lines) == sum(p.acked_events for p in result.paths.values())
    assert {line["via"] for line in lines} == {"direct-push", "adobe-io"}
    assert any(line.get("duplicate") for line in lines)
    assert any(line.get("reason") for line in lines)

    topics = {t.name.rsplit(".", 1)[1]: t.name for t in ingress.topics.all()}
    on_topic: dict[str, Counter[str]] = {}
    for short in ("lead-activity", "user-audit", "notification"):
        records = await ingress.records(topics[short])
        on_topic[short] = Counter(dict(r.headers)["ce_id"].decode() for r in records)
    dead = [
        (r.value, dict(r.headers)["dl_reason"].decode())
        for r in await ingress.records(topics["dead-letter"])
    ]

    expected: Counter[tuple[str, str]] = Counter((x["topic"], x["id"]) for x in lines)
    for (topic, event_id), times in expected.items():
        if topic == "dead-letter":
            continue
        assert on_topic[topic][event_id] >= times, f"{event_id} missing on {topic}"
    for line in (x for x in lines if x["topic"] == "dead-letter"):
        reasons = [reason for value, reason in dead if line["id"].encode() in value]
        assert line["reason"] in reasons, f"dead letter of {line['id']} missing"
