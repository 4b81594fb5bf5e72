"""Start, ready, drain, stop: in-process with an injected shutdown, and as a real process."""

import asyncio
import os
import signal
import socket
import ssl
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from ingest.server import serve
from ingest.settings import ServerSettings
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
        body = orjson.dumps(p.direct_push([p.activity() for _ in range(500)]))
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        results: list[Any] = []
        first_answer = asyncio.Event()

        async def deliver() -> None:
            async with aiohttp.ClientSession() as session:
                for _ in range(5):
                    async with session.post(
                        url + "/v1/lead-activity", data=body, headers=headers
                    ) as r:
                        results.append((r.status, await r.json()))
                        first_answer.set()

        sending = asyncio.create_task(deliver())
        await asyncio.wait_for(first_answer.wait(), 20)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        await asyncio.gather(sending, return_exceptions=True)
    finally:
        if proc.returncode is None:
            proc.kill()
    text = log.read_text()
    assert code == 0, text
    assert "ingress stopped" in text
    acknowledged = sum(r[1]["accepted"] for r in results if r[0] == 200)
    assert acknowledged >= 500
    ingress = Ingress(None, None, kafka_bootstrap, signer)  # type: ignore[arg-type]
    on_kafka = await ingress.records(f"{prefix}.lead-activity")
    assert len(on_kafka) >= acknowledged  # nothing answered 2xx is missing
    assert TOKEN not in text  # secrets never logged
