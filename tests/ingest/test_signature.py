import base64

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ingest.errors import InvalidSignature, MissingSignature, SigningKeysUnavailable
from ingest.signature import PublicKeyCache, signatures_from, verify_delivery
from tools.simulate.signing import KeyServer, SigningKey, signed_headers

BODY = b'{"eventid":"e1","recipientclientid":"c1"}'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def keys() -> tuple[SigningKey, SigningKey]:
    return SigningKey(), SigningKey()


async def make_cache(server: KeyServer, clock: Clock) -> tuple[PublicKeyCache, TestServer]:
    http = TestServer(server.app, host="127.0.0.1")
    await http.start_server()
    session = aiohttp.ClientSession()
    base = str(http.make_url("")).rstrip("/")
    cache = PublicKeyCache(session, base, ttl_s=3600, fetch_timeout_s=2, clock=clock)
    cache._test_session = session  # type: ignore[attr-defined]
    return cache, http


async def close(cache: PublicKeyCache, http: TestServer) -> None:
    await cache._test_session.close()  # type: ignore[attr-defined]
    await http.close()


async def test_both_valid_and_either_valid(keys: tuple[SigningKey, SigningKey]) -> None:
    first, second = keys
    server, clock = KeyServer(first, second), Clock()
    cache, http = await make_cache(server, clock)
    try:
        await verify_delivery(BODY, signed_headers(BODY, first, second), cache)
        headers = signed_headers(BODY, first, second)
        headers["x-adobe-digital-signature-1"] = base64.b64encode(b"\0" * 256).decode()
        await verify_delivery(BODY, headers, cache)  # the second one verifies
    finally:
        await close(cache, http)


async def test_keys_cached_until_ttl(keys: tuple[SigningKey, SigningKey]) -> None:
    first, second = keys
    server, clock = KeyServer(first, second), Clock()
    cache, http = await make_cache(server, clock)
    try:
        for _ in range(3):
            await verify_delivery(BODY, signed_headers(BODY, first, second), cache)
        assert server.fetches == [first.path]
        clock.now += 3601
        await verify_delivery(BODY, signed_headers(BODY, first, second), cache)
        assert server.fetches == [first.path, first.path]
    finally:
        await close(cache, http)


async def test_tampered_body_and_wrong_key_are_refused(keys: tuple[SigningKey, SigningKey]) -> None:
    first, second = keys
    stranger = SigningKey(path=first.path)
    server, clock = KeyServer(first, second), Clock()
    cache, http = await make_cache(server, clock)
    try:
        with pytest.raises(InvalidSignature):
            await verify_delivery(BODY + b" ", signed_headers(BODY, first, second), cache)
        with pytest.raises(InvalidSignature):
            await verify_delivery(BODY, signed_headers(BODY, stranger, stranger), cache)
    finally:
        await close(cache, http)


async def test_key_server_down_is_retriable_not_a_rejection(
    keys: tuple[SigningKey, SigningKey],
) -> None:
    first, second = keys
    server, clock = KeyServer(first, second), Clock()
    server.down = True
    cache, http = await make_cache(server, clock)
    try:
        with pytest.raises(SigningKeysUnavailable):
            await verify_delivery(BODY, signed_headers(BODY, first, second), cache)
        fetched = len(server.fetches)
        with pytest.raises(SigningKeysUnavailable):  # remembered: no fetch storm
            await verify_delivery(BODY, signed_headers(BODY, first, second), cache)
        assert len(server.fetches) == fetched
        server.down = False
        clock.now += 31
        await verify_delivery(BODY, signed_headers(BODY, first, second), cache)
    finally:
        await close(cache, http)


def test_missing_headers() -> None:
    with pytest.raises(MissingSignature):
        signatures_from({})


@pytest.mark.parametrize(
    "path",
    [
        "/prod/keys/../../etc/passwd.pem",
        "https://evil.example/prod/keys/pub-key-1.pem",
        "/prod/keys/pub-key-1.pem?x=1",
        "/prod/keys/pub-key-1.pem#x",
        "@evil.example/prod/keys/pub-key-1.pem",
        "/dev/keys/pub-key-1.pem",
    ],
)
def test_only_allow_listed_key_paths(path: str) -> None:
    headers = {"x-adobe-digital-signature-1": "AAAA", "x-adobe-public-key1-path": path}
    with pytest.raises(InvalidSignature):
        signatures_from(headers)


def test_signature_must_be_base64() -> None:
    headers = {
        "x-adobe-digital-signature-1": "not base64!",
        "x-adobe-public-key1-path": "/prod/keys/pub-key-1.pem",
    }
    with pytest.raises(InvalidSignature):
        signatures_from(headers)
