"""Adobe I/O Events' digital signatures, from the sender's side (docs/protocol.md).

Two RSA key pairs made here sign every delivery (RSA-SHA256, PKCS#1 v1.5, base64, over the raw
body); a small key server publishes the public keys at ``/prod/keys/pub-key-<uuid>.pem``, as
``static.adobeioevents.com`` does, so a receiver fetches them from its configured base URL.
"""

import base64
import uuid
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_BITS = 2048


@dataclass
class SigningKey:
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS),
        repr=False,
    )
    path: str = field(default_factory=lambda: f"/prod/keys/pub-key-{uuid.uuid4()}.pem")

    def pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, body: bytes) -> str:
        signature = self.private.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


def signed_headers(body: bytes, first: SigningKey, second: SigningKey) -> dict[str, str]:
    return {
        "content-type": "application/json; charset=utf-8",
        "x-adobe-digital-signature-1": first.sign(body),
        "x-adobe-digital-signature-2": second.sign(body),
        "x-adobe-public-key1-path": first.path,
        "x-adobe-public-key2-path": second.path,
    }


class KeyServer:
    """Serves public keys at their paths and counts the fetches. ``down`` makes it answer 503."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = {k.path: k for k in keys}
        self.fetches: list[str] = []
        self.down = False
        self.app = web.Application()
        self.app.router.add_get("/{tail:.*}", self._serve)

    def add(self, key: SigningKey) -> None:
        self.keys[key.path] = key

    async def _serve(self, request: web.Request) -> web.Response:
        self.fetches.append(request.path)
        if self.down:
            return web.Response(status=503)
        key = self.keys.get(request.path)
        if key is None:
            return web.Response(status=404)
        return web.Response(body=key.pem(), content_type="application/x-pem-file")
