"""A local OAuth 2.0 identity provider for the tests: discovery, JWKS, introspection, and JWTs
signed with keys made here."""

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "datastreams"
CLIENT_ID = "marketo-push-client"
INTROSPECTION_CLIENT = ("datastreams-introspector", "introspection-secret-0123")


@dataclass
class IdpKey:
    alg: str
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    private: Any = None

    def __post_init__(self) -> None:
        if self.private is None:
            self.private = (
                ec.generate_private_key(ec.SECP256R1())
                if self.alg.startswith("ES")
                else rsa.generate_private_key(public_exponent=65537, key_size=2048)
            )

    def jwk(self) -> dict[str, Any]:
        algorithm = (
            jwt.algorithms.ECAlgorithm if self.alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
        )
        doc: dict[str, Any] = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return doc | {"kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(  # type: ignore[no-any-return]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class IdentityProvider:
    def __init__(self, introspection_client: tuple[str, str] = INTROSPECTION_CLIENT) -> None:
        self.keys = [IdpKey("RS256"), IdpKey("ES256")]
        self.base_url = ""
        self.down = False
        self.jwks_fetches = 0
        self.opaque: dict[str, dict[str, Any]] = {}
        self.introspection_client = introspection_client
        # Every token presented for introspection, in order: a tenant's IdP must never be shown
        # another tenant's tokens (tests/fuzz checks it).
        self.introspected: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/.well-known/openid-configuration", self._discovery)
        self.app.router.add_get("/jwks", self._jwks)
        self.app.router.add_post("/introspect", self._introspect)

    @property
    def issuer(self) -> str:
        return self.base_url + "/"

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "azp": CLIENT_ID,
            "sub": CLIENT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def token(
        self, key: IdpKey | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        key = key or self.keys[0]
        return jwt.encode(
            self.claims(**claims),
            key.private,
            algorithm=key.alg,
            headers={"kid": key.kid} | (headers or {}),
        )

    def opaque_token(self, active: bool = True, client_id: str = CLIENT_ID) -> str:
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.opaque[token] = {
            "active": active,
            "client_id": client_id,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 300,
        }
        return token

    async def _discovery(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        return web.json_response(
            {
                "issuer": self.issuer,
                "jwks_uri": self.base_url + "/jwks",
                "introspection_endpoint": self.base_url + "/introspect",
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        if self.down:
            return web.Response(status=503)
        return web.json_response({"keys": [k.jwk() for k in self.keys]})

    async def _introspect(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        auth = request.headers.get("Authorization", "")
        expected = base64.b64encode(":".join(self.introspection_client).encode()).decode()
        form = await request.post()
        token = str(form.get("token"))
        self.introspected.append(token)
        if auth != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        return web.json_response(self.opaque.get(token, {"active": False}))


async def serve(provider: IdentityProvider) -> TestServer:
    """Start the provider on a free port of 127.0.0.1; the caller closes the server."""
    server = TestServer(provider.app, host="127.0.0.1")
    await server.start_server()
    provider.base_url = str(server.make_url("")).rstrip("/")
    return server
