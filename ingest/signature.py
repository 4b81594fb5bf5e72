"""Adobe I/O Events digital signatures.

Each POST carries two base64 RSA-SHA256 (PKCS#1 v1.5) signatures over the raw body and the
relative paths of the two public keys that verify them; the delivery is authentic if either
verifies. Keys are fetched only from the configured base URL plus a path that matches the
allow-list, never from a URL taken from the request, and cached (≤ 24 h) per path. Failed
fetches are remembered briefly so hostile requests cannot make us fetch in a loop.
"""

import asyncio
import base64
import binascii
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ingest.errors import InvalidSignature, MissingSignature, SigningKeysUnavailable

log = logging.getLogger(__name__)

KEY_PATH = re.compile(r"^/prod/keys/pub-key-[A-Za-z0-9-]{1,64}\.pem$")
FAILED_FETCH_MEMORY_S = 30.0
MAX_CACHED_KEYS = 16
MAX_KEY_BYTES = 16 * 1024
HEADER_PAIRS = (
    ("x-adobe-digital-signature-1", "x-adobe-public-key1-path"),
    ("x-adobe-digital-signature-2", "x-adobe-public-key2-path"),
)


@dataclass(frozen=True, slots=True)
class SignedBy:
    signature: bytes
    key_path: str


def signatures_from(headers: Mapping[str, str]) -> list[SignedBy]:
    """The (signature, key path) pairs present and well formed; 401 if there is none."""
    found = []
    for sig_header, path_header in HEADER_PAIRS:
        sig, path = headers.get(sig_header), headers.get(path_header)
        if not sig or not path:
            continue
        if not KEY_PATH.match(path):
            raise InvalidSignature(f"{path_header} is not an allowed key path")
        try:
            found.append(SignedBy(base64.b64decode(sig, validate=True), path))
        except (binascii.Error, ValueError) as exc:
            raise InvalidSignature(f"{sig_header} is not valid base64") from exc
    if not found:
        raise MissingSignature(
            "x-adobe-digital-signature-1/2 with x-adobe-public-key1/2-path headers are required"
        )
    return found


_PADDING, _HASH = padding.PKCS1v15(), hashes.SHA256()  # stateless: made once per process


def verifies(key: rsa.RSAPublicKey, signature: bytes, body: bytes) -> bool:
    try:
        key.verify(signature, body, _PADDING, _HASH)
    except CryptoInvalidSignature:
        return False
    return True


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


class KeyFetchFailed(Exception):
    pass


class PublicKeyCache:
    """Public keys by path, fetched from the one configured base URL, kept for ``ttl_s``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        ttl_s: float,
        fetch_timeout_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_result: Callable[[str], None] = lambda result: None,
    ) -> None:
        self._session = session
        self._base_url = base_url
        self._ttl_s = ttl_s
        self._timeout = aiohttp.ClientTimeout(total=fetch_timeout_s)
        self._clock = clock
        self._on_result = on_result
        self._keys: dict[str, tuple[float, rsa.RSAPublicKey]] = {}
        self._failed: dict[str, float] = {}
        self._inflight: dict[str, asyncio.Future[rsa.RSAPublicKey]] = {}

    def cached(self, path: str) -> rsa.RSAPublicKey | None:
        """The key if it is cached and fresh (the common case, without a coroutine)."""
        cached = self._keys.get(path)
        if cached and self._clock() - cached[0] < self._ttl_s:
            self._on_result("hit")
            return cached[1]
        return None

    async def get(self, path: str) -> rsa.RSAPublicKey:
        key = self.cached(path)
        if key is not None:
            return key
        now = self._clock()
        if now - self._failed.get(path, -FAILED_FETCH_MEMORY_S) < FAILED_FETCH_MEMORY_S:
            raise KeyFetchFailed(f"fetching {path} failed recently")
        if path not in self._inflight:  # one fetch per path however many requests wait for it
            self._inflight[path] = asyncio.ensure_future(self._fetch(path))
        return await asyncio.shield(self._inflight[path])

    async def _fetch(self, path: str) -> rsa.RSAPublicKey:
        try:
            key = await self._download(path)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self._failed[path] = self._clock()
            self._on_result("fetch_error")
            log.warning("could not fetch signing key %s: %s", path, type(exc).__name__)
            raise KeyFetchFailed(str(exc)) from exc
        finally:
            self._inflight.pop(path, None)
        if len(self._keys) >= MAX_CACHED_KEYS:
            self._keys.pop(next(iter(self._keys)))
        self._keys[path] = (self._clock(), key)
        self._failed.pop(path, None)
        self._on_result("fetch")
        return key

    async def _download(self, path: str) -> rsa.RSAPublicKey:
        url = self._base_url + path
        async with self._session.get(url, timeout=self._timeout, allow_redirects=False) as resp:
            if resp.status != 200:
                raise ValueError(f"key server answered {resp.status}")
            pem = await resp.content.read(MAX_KEY_BYTES + 1)
        if len(pem) > MAX_KEY_BYTES:
            raise ValueError("key file too large")
        return load_public_key(pem)


async def verify_delivery(
    body: bytes, headers: Mapping[str, str], keys: PublicKeyCache, decoded: bytes | None = None
) -> None:
    """Return if either signature verifies; 401 if none does; 503 if no key could be fetched.

    The signature is over the bytes sent. Whether Adobe would sign a compressed body's bytes or
    its content is not documented, so ``decoded`` (the content of a compressed body) is tried
    after the bytes sent, and only when they fail."""
    unavailable = 0
    signed = signatures_from(headers)
    candidates = (body,) if decoded is None or decoded is body else (body, decoded)
    for entry in signed:  # the second is tried only when the first does not verify
        key = keys.cached(entry.key_path)
        if key is None:
            try:
                key = await keys.get(entry.key_path)
            except KeyFetchFailed:
                unavailable += 1
                continue
        for candidate in candidates:
            if verifies(key, entry.signature, candidate):
                return
    if unavailable == len(signed):
        raise SigningKeysUnavailable("the signing public keys could not be fetched; retry later")
    raise InvalidSignature("no digital signature verifies over the request body")
