"""TLS on the listener (TLS 1.2 at least) and the optional Adobe I/O client-certificate check,
through the real server entrypoint; and connections that never finish their headers."""

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import orjson
import pytest

from ingest.server import serve, tls_context
from ingest.settings import AdobeIoSettings, ServerSettings, Settings
from tests.support import payloads as p
from tests.support.certs import CertificateAuthority
from tests.support.ingress import TOKEN, Signer, ingress_settings
from tools.process import free_port, wait_ready

ADOBE_CN = "adobe-io-events-client"


@dataclass
class Running:
    url: str
    ca: CertificateAuthority
    folder: Path


async def start(settings: Settings) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop.wait()))
    return stop, task


async def wait_listening(port: int) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return


@pytest.fixture
async def tls_ingress(
    kafka_bootstrap: str, signer: Signer, tmp_path: Path
) -> AsyncIterator[Running]:
    ca = CertificateAuthority(tmp_path)
    server_cert = ca.issue("ingress", server=True)
    port = free_port()
    settings = ingress_settings(kafka_bootstrap, signer.base_url)
    settings = replace(
        settings,
        server=ServerSettings(
            host="127.0.0.1",
            port=port,
            tls_cert_file=str(server_cert.cert),
            tls_key_file=str(server_cert.key),
            tls_client_ca_file=str(ca.cert_file),
        ),
        adobe_io=AdobeIoSettings(public_key_base_url=signer.base_url, client_cert_cn=ADOBE_CN),
    )
    stop, task = await start(settings)
    url = f"https://127.0.0.1:{port}"
    await wait_ready(url + "/readyz", 30, ssl=client_context(ca))
    yield Running(url, ca, tmp_path)
    stop.set()
    await asyncio.wait_for(task, 20)


def client_context(ca: CertificateAuthority, cn: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.cert_file))
    if cn:
        issued = ca.issue(cn, server=False)
        context.load_cert_chain(str(issued.cert), str(issued.key))
    return context


async def post(
    url: str, context: ssl.SSLContext, body: bytes, headers: dict[str, str]
) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers, ssl=context) as resp,
    ):
        return resp.status, await resp.json()


async def test_adobe_route_requires_adobes_client_certificate(
    tls_ingress: Running, signer: Signer
) -> None:
    body = orjson.dumps(p.lads_event())
    url = tls_ingress.url + "/v1/adobe-io"
    status, answer = await post(url, client_context(tls_ingress.ca), body, signer.headers(body))
    assert (status, answer["error"]) == (401, "client_certificate_required")
    wrong = client_context(tls_ingress.ca, "someone-else")
    status, answer = await post(url, wrong, body, signer.headers(body))
    assert (status, answer["error"]) == (401, "client_certificate_required")
    adobe = client_context(tls_ingress.ca, ADOBE_CN)
    status, answer = await post(url, adobe, body, signer.headers(body))
    assert (status, answer) == (200, {"accepted": 1, "deadlettered": 0})


async def test_certificate_from_another_ca_is_refused_in_the_handshake(
    tls_ingress: Running, signer: Signer
) -> None:
    stranger_ca = CertificateAuthority(
        tls_ingress.folder / ".." / tls_ingress.folder.name, "other-ca"
    )
    context = ssl.create_default_context(cafile=str(tls_ingress.ca.cert_file))
    forged = stranger_ca.issue(ADOBE_CN + "-forged", server=False)
    context.load_cert_chain(str(forged.cert), str(forged.key))
    body = orjson.dumps(p.lads_event())
    with pytest.raises(aiohttp.ClientError):
        await post(tls_ingress.url + "/v1/adobe-io", context, body, signer.headers(body))


async def test_direct_push_over_tls_1_2_and_1_3(tls_ingress: Running) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = orjson.dumps(p.direct_push([p.activity()]))
    status, _answer = await post(
        tls_ingress.url + "/v1/lead-activity", client_context(tls_ingress.ca), body, headers
    )
    assert status == 200
    tls12 = client_context(tls_ingress.ca)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    status, _ = await post(tls_ingress.url + "/v1/lead-activity", tls12, body, headers)
    assert status == 200


def test_server_context_refuses_anything_below_tls_1_2(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    issued = ca.issue("ingress", server=True)
    server = ServerSettings(tls_cert_file=str(issued.cert), tls_key_file=str(issued.key))
    context = tls_context(server)
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE  # no client CA configured: no client certs asked
    assert tls_context(ServerSettings()) is None


async def test_connection_that_never_finishes_its_headers_is_closed(
    kafka_bootstrap: str, signer: Signer
) -> None:
    port = free_port()
    settings = ingress_settings(kafka_bootstrap, signer.base_url)
    settings = replace(
        settings, server=ServerSettings(host="127.0.0.1", port=port, idle_timeout_s=1.0)
    )
    stop, task = await start(settings)
    try:
        await wait_listening(port)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /v1/lead-activity HTTP/1.1\r\nHost: x\r\n")
            sock.settimeout(10)
            started = asyncio.get_running_loop().time()
            data = await asyncio.to_thread(sock.recv, 1024)
            waited = asyncio.get_running_loop().time() - started
        assert data == b""  # closed by the server, with nothing to say to a half request
        assert waited < 5
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
