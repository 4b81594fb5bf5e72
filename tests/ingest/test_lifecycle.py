"""Start, ready, drain, stop, in-process with an injected shutdown. SIGTERM to a real ingress
process under load is a chaos scenario: tests/reliability/test_sigterm.py."""

import asyncio
import socket
import ssl
from dataclasses import replace
from pathlib import Path

import aiohttp

from ingest.server import serve
from ingest.settings import ServerSettings
from tests.conftest import Signer, ingress_settings

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
