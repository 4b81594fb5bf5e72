"""Start, ready, drain, stop: in-process with an injected shutdown, and as a real process."""

import asyncio
import os
import signal
import socket
import ssl
import sys
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import orjson

from ingest.server import serve
from ingest.settings import ServerSettings
from pipeline.envelope import Envelope
from tests import payloads as p
from tests.conftest import TOKEN, Ingress, Signer, ingress_settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(
    url: str, context: ssl.SSLContext | bool = True, timeout_s: float = 30
) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(timeout_s):
        while True:
            try:
                async with session.get(url + "/readyz", ssl=context) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)


async def test_readyz_turns_503_before_the_listener_closes(
    kafka_bootstrap: str, signer: Signer
) -> None:
    port = free_port()
    settings = ingress_settings(kafka_bootstrap, signer.base_url)
    settings = replace(
        settings,
        server=ServerSettings(host="127.0.0.1", port=port, readiness_grace_s=1.0),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop.wait()))
    url = f"http://127.0.0.1:{port}"
    await wait_ready(url)
    stop.set()
    await asyncio.sleep(0.2)
    async with aiohttp.ClientSession() as session, session.get(url + "/readyz") as resp:
        assert resp.status == 503
        assert (await resp.json())["status"] == "draining"
    await asyncio.wait_for(task, 20)


async def test_sigterm_finishes_in_flight_deliveries_and_exits_zero(
    kafka_bootstrap: str, signer: Signer, tmp_path: Path
) -> None:
    port = free_port()
    prefix = f"proc-{port}"
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
[server]
drain_timeout_seconds = 10
[topics]
prefix = "{prefix}"
partitions = 3
[adobe_io]
public_key_base_url = "{signer.base_url}"
[[tenants]]
munchkin_id = "{p.MUNCHKIN}"
api_tokens = ["{TOKEN}"]
adobe_client_id = "{p.CLIENT_ID}"
"""
    )
    env = os.environ | {
        "DATASTREAMS_CONFIG": str(config),
        "DATASTREAMS_HOST": "127.0.0.1",
        "DATASTREAMS_PORT": str(port),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
    }
    log = tmp_path / "ingress.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ingest", "ingress", env=env, stdout=out, stderr=out, cwd=REPO
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        acknowledged: list[str] = []
        statuses: list[int] = []
        first_answer = asyncio.Event()

        async def deliver() -> None:
            async with aiohttp.ClientSession() as session:
                while True:  # until the server goes away
                    activities = [p.activity() for _ in range(200)]
                    body = orjson.dumps(p.direct_push(activities))
                    try:
                        async with session.post(
                            url + "/v1/lead-activity", data=body, headers=headers
                        ) as r:
                            statuses.append(r.status)
                            if r.status == 200:
                                acknowledged.extend(a["marketoGUID"] for a in activities)
                            first_answer.set()
                    except aiohttp.ClientError:
                        return

        senders = [asyncio.create_task(deliver()) for _ in range(4)]
        await asyncio.wait_for(first_answer.wait(), 20)
        await asyncio.sleep(0.3)  # let several deliveries be in flight
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await asyncio.wait_for(proc.wait(), 30)
        exit_s = time.monotonic() - signalled
        await asyncio.gather(*senders)
    finally:
        if proc.returncode is None:
            proc.kill()
    text = log.read_text()
    assert code == 0, text
    assert exit_s < 10, exit_s  # the drain deadline
    assert "ingress stopped" in text
    assert set(statuses) <= {200, 503}, statuses
    assert len(acknowledged) >= 200
    ingress = Ingress(None, None, kafka_bootstrap, signer)  # type: ignore[arg-type]
    on_kafka = {
        Envelope.from_json(r.value).id for r in await ingress.records(f"{prefix}.lead-activity")
    }
    assert set(acknowledged) <= on_kafka  # nothing answered 2xx is missing
    assert TOKEN not in text  # secrets never logged
