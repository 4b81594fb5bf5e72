"""OAuth 2.0 access tokens on the direct push (docs/protocol.md: Marketo fetches a token from the
customer's identity provider with client credentials and sends it with each delivery).

JWT access tokens are verified with PyJWT against the issuer's JWKS: only the configured
asymmetric algorithms (never ``none``, never HMAC, so a public key cannot be used as an HMAC
secret), ``iss``, ``aud``, ``exp``/``nbf`` with a small leeway, and optionally the client id
(``azp``/``client_id``/``sub``). Opaque tokens are checked by RFC 7662 introspection with the
tenant's client credentials, and only at the identity provider of the tenant the delivery names
(its ``munchkinId``): a token is never shown to another tenant's IdP, and a delivery that names no
tenant is not introspected at all. Tenants that share one IdP each configure the same
``introspection_url`` with their own distinct ``client_ids``, so an active token still maps to
one tenant (the configuration is refused otherwise).

JWKS and introspection answers are cached. An unknown ``kid`` refetches the JWKS at most once per
``jwks_min_refetch_s``, and single-flight: the decision is re-taken inside the lock, so a burst of
tokens with unknown ``kid``s waits for one fetch instead of making one each. When the identity
provider cannot be reached nothing is accepted: the answer is 503 so Marketo retries.
"""

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from ingest.errors import IdentityProviderUnavailable, InvalidToken, shorten
from ingest.tenant_settings import OAuthClientSettings, OAuthSettings, Tenant

log = logging.getLogger(__name__)

NEGATIVE_CACHE_S = 10.0
MAX_DOCUMENT_BYTES = 256 * 1024


@dataclass(frozen=True)
class IssuerKey:
    jwk: jwt.PyJWK
    declared_alg: str | None  # the JWK's own "alg", when it names one


@dataclass(frozen=True)
class OAuthTenant:
    munchkin_id: str
    settings: OAuthSettings


async def fetch_json(
    session: aiohttp.ClientSession, method: str, url: str, timeout_s: float, **kwargs: Any
) -> Any:
    try:
        async with session.request(
            method,
            url,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
            **kwargs,
        ) as resp:
            if resp.status != 200:
                raise IdentityProviderUnavailable(f"identity provider answered {resp.status}")
            return await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise IdentityProviderUnavailable(
            f"identity provider unreachable ({type(exc).__name__}); retry later"
        ) from exc


class JwksCache:
    """The signing keys of one issuer, by ``kid``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        issuer: str,
        jwks_uri: str | None,
        client: OAuthClientSettings,
        clock: Callable[[], float],
    ) -> None:
        self._session = session
        self._issuer = issuer
        self._jwks_uri = jwks_uri
        self._client = client
        self._clock = clock
        self._keys: dict[str | None, IssuerKey] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> IssuerKey:
        asked_at = self._clock()
        if self._needs_fetch(kid, asked_at):
            async with self._lock:
                # Re-decided under the lock: whoever held it may have fetched what we need.
                if self._needs_fetch(kid, asked_at):
                    await self._refresh()
        found = self._keys.get(kid)
        if found is None and kid is None and len(self._keys) == 1:
            found = next(iter(self._keys.values()))
        if found is None:
            raise InvalidToken(f"the token's key id {shorten(kid)} is not in the issuer's JWKS")
        return found

    def _needs_fetch(self, kid: str | None, asked_at: float) -> bool:
        fetched_at = self._fetched_at
        if fetched_at is None or self._clock() - fetched_at > self._client.jwks_ttl_s:
            return True
        if kid in self._keys or fetched_at >= asked_at:  # fetched since we asked: that is news
            return False
        return self._clock() - fetched_at >= self._client.jwks_min_refetch_s

    async def _refresh(self) -> None:
        uri = self._jwks_uri or await self._discover()
        document = await fetch_json(self._session, "GET", uri, self._client.http_timeout_s)
        self._fetched_at = self._clock()
        self._keys = parse_jwks(document)
        if not self._keys:
            raise IdentityProviderUnavailable("the issuer's JWKS holds no usable key")
        log.info("loaded %d signing key(s) for issuer %s", len(self._keys), self._issuer)

    async def _discover(self) -> str:
        url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        config = await fetch_json(self._session, "GET", url, self._client.http_timeout_s)
        uri = config.get("jwks_uri") if isinstance(config, dict) else None
        if not isinstance(uri, str):
            raise IdentityProviderUnavailable("the issuer's discovery document has no jwks_uri")
        self._jwks_uri = uri
        return uri


def parse_jwks(document: Any) -> dict[str | None, IssuerKey]:
    """Usable public keys by kid; keys of unknown types or without key material are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str | None, IssuerKey] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") == "oct" or "d" in entry:
            continue  # never trust symmetric or private keys published as verification keys
        try:
            jwk = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            continue
        alg = entry.get("alg")
        keys[jwk.key_id] = IssuerKey(jwk, alg if isinstance(alg, str) else None)
    return keys


def client_of(claims: dict[str, Any]) -> str | None:
    for name in ("azp", "client_id", "sub"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _pick(candidates: list[OAuthTenant], client: str | None) -> OAuthTenant:
    for candidate in candidates:
        if not candidate.settings.client_ids or client in candidate.settings.client_ids:
            return candidate
    raise InvalidToken(f"client {shorten(client)} is not allowed to publish")


JWT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token is for another audience"),
    (jwt.InvalidIssuerError, "the token is from another issuer"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim (exp, iss, aud)"),
)


def verify_claims(token: str, key: IssuerKey, alg: str, settings: OAuthSettings) -> dict[str, Any]:
    if key.declared_alg is not None and key.declared_alg != alg:
        raise InvalidToken("the token's algorithm does not match its key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.jwk.key,
            algorithms=[alg],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_s,
            options={"require": ["exp", "iss", "aud"]},
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:  # a key of the wrong type → ValueError
        reason = next((text for kind, text in JWT_ERRORS if isinstance(exc, kind)), None)
        raise InvalidToken(reason or "the token is not a valid JWT") from exc
    return claims


class OAuthVerifier:
    """Maps a presented access token to the one tenant it belongs to, or refuses it."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tenants: Iterable[Tenant],
        client: OAuthClientSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._client = client
        self._clock = clock
        self._tenants = [OAuthTenant(t.munchkin_id, t.oauth) for t in tenants if t.oauth]
        self._jwks: dict[str, JwksCache] = {}
        for t in self._tenants:
            issuer = t.settings.issuer
            if issuer not in self._jwks:
                self._jwks[issuer] = JwksCache(session, issuer, t.settings.jwks_uri, client, clock)
        self._introspected: dict[bytes, tuple[float, str | None]] = {}
        self._introspections = asyncio.Semaphore(client.max_concurrent_introspections)

    @property
    def enabled(self) -> bool:
        return bool(self._tenants)

    async def tenant_for(self, token: str, named: Callable[[], Awaitable[str | None]]) -> str:
        """The one tenant the token belongs to; ``named`` tells which tenant the delivery names,
        and is only awaited for an opaque token (it may read the body)."""
        if token.count(".") == 2:
            return await self._verify_jwt(token)
        return await self._introspect(token, await named())

    async def _verify_jwt(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken("the token is not a well-formed JWT") from exc
        candidates = [t for t in self._tenants if t.settings.issuer == unverified.get("iss")]
        if not candidates:
            raise InvalidToken("the token's issuer is not trusted")
        tenant = _pick(candidates, client_of(unverified))
        alg = header.get("alg")
        if alg not in tenant.settings.algorithms:
            raise InvalidToken(f"algorithm {shorten(alg)} is not allowed")
        key = await self._jwks[tenant.settings.issuer].key(header.get("kid"))
        claims = verify_claims(token, key, alg, tenant.settings)
        return _pick([tenant], client_of(claims)).munchkin_id

    async def _introspect(self, token: str, named: str | None) -> str:
        if named is None:
            raise InvalidToken(
                "an opaque token is checked only at the identity provider of the tenant the "
                "delivery names, and this delivery names no munchkinId"
            )
        tenant = next((t for t in self._tenants if t.munchkin_id == named), None)
        if tenant is None or not tenant.settings.introspection_url:
            raise InvalidToken(f"tenant {shorten(named)} does not accept opaque tokens")
        digest = hashlib.sha256(f"{named}\n{token}".encode()).digest()
        cached = self._introspected.get(digest)
        now = self._clock()
        if cached and cached[0] > now:
            return self._cached_result(cached[1])
        munchkin = await self._ask(tenant, token)
        ttl = self._client.introspection_cache_s if munchkin else NEGATIVE_CACHE_S
        if len(self._introspected) > 10_000:
            self._introspected.clear()
        self._introspected[digest] = (now + ttl, munchkin)
        return self._cached_result(munchkin)

    @staticmethod
    def _cached_result(munchkin: str | None) -> str:
        if munchkin is None:
            raise InvalidToken("the token is not active for the tenant the delivery names")
        return munchkin

    async def _ask(self, tenant: OAuthTenant, token: str) -> str | None:
        s = tenant.settings
        url, client_id, secret = (
            s.introspection_url, s.introspection_client_id, s.introspection_client_secret,
        )  # fmt: skip
        if not (url and client_id and secret):
            return None
        basic = base64.b64encode(f"{client_id}:{secret.reveal()}".encode()).decode()
        async with self._introspections:
            answer = await fetch_json(
                self._session,
                "POST",
                url,
                self._client.http_timeout_s,
                data={"token": token, "token_type_hint": "access_token"},
                headers={"Authorization": f"Basic {basic}"},
            )
        if not isinstance(answer, dict) or answer.get("active") is not True:
            return None
        exp = answer.get("exp")
        if isinstance(exp, int | float) and exp + s.leeway_s < time.time():
            return None
        if s.client_ids and client_of(answer) not in s.client_ids:
            return None
        aud = answer.get("aud")
        if aud is not None and s.audience not in (aud if isinstance(aud, list) else [aud]):
            return None
        return tenant.munchkin_id
