"""Start, ready, drain, stop, in-process with an injected shutdown. SIGTERM to a real ingress
process under load is a chaos scenario: tests/reliability/test_sigterm.py."""

import asyncio
from dataclasses import replace
from pathlib import Path

import aiohttp

from ingest.server import serve
from ingest.settings import ServerSettings
from tests.support.ingress import Signer, ingress_settings
from tools.process import free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]


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
    await wait_ready(url + "/readyz", 30)
    stop.set()
    await asyncio.sleep(0.2)
    async with aiohttp.ClientSession() as session, session.get(url + "/readyz") as resp:
        assert resp.status == 503
        assert (await resp.json())["status"] == "draining"
    await asyncio.wait_for(task, 20)
