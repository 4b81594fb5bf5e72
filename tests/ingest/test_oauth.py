"""OAuth access tokens on the direct push, against a local identity provider and a real broker.
Every refused token publishes nothing (proved by reading every topic to its end)."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ingest.secrets import ApiToken, Secret
from ingest.tenant_settings import OAuthClientSettings, OAuthSettings, Tenant
from tests.support import payloads as p
from tests.support.idp import (
    AUDIENCE,
    CLIENT_ID,
    INTROSPECTION_CLIENT,
    IdentityProvider,
    IdpKey,
    serve,
)
from tests.support.ingress import (
    OTHER_MUNCHKIN,
    TOKEN,
    Ingress,
    IngressFactory,
    answer,
)


@pytest.fixture
async def idp() -> AsyncIterator[IdentityProvider]:
    provider = IdentityProvider()
    server = await serve(provider)
    yield provider
    await server.close()


def oauth_tenants(idp: IdentityProvider, **oauth: Any) -> tuple[Tenant, ...]:
    settings = OAuthSettings(
        issuer=idp.issuer,
        audience=AUDIENCE,
        client_ids=(CLIENT_ID,),
        introspection_url=idp.base_url + "/introspect",
        introspection_client_id=INTROSPECTION_CLIENT[0],
        introspection_client_secret=Secret(INTROSPECTION_CLIENT[1]),
        **oauth,
    )
    return (
        Tenant(p.MUNCHKIN, (ApiToken.from_plain(TOKEN),), p.CLIENT_ID, settings),
        Tenant(p.SANDBOX, (), None, None),
    )


@pytest.fixture
async def oauth_ingress(make_ingress: IngressFactory, idp: IdentityProvider) -> Ingress:
    return await make_ingress(
        tenants=oauth_tenants(idp),
        oauth=OAuthClientSettings(jwks_min_refetch_s=0.0),
    )


async def push(ingress: Ingress, token: str) -> tuple[int, dict[str, Any]]:
    resp = await ingress.post_push(p.direct_push([p.activity()]), token=token)
    return resp.status, await resp.json()


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_valid_rs256_and_es256_tokens_are_accepted(
    oauth_ingress: Ingress, idp: IdentityProvider
) -> None:
    for key in idp.keys:
        status, body = await push(oauth_ingress, idp.token(key))
        assert (status, body) == (200, {"accepted": 1, "deadlettered": 0}), key.alg
    assert await oauth_ingress.total_published() == 2


async def test_every_bad_token_is_refused_and_nothing_published(
    oauth_ingress: Ingress, idp: IdentityProvider
) -> None:
    rsa_key = idp.keys[0]
    impostor = IdpKey("RS256", kid=rsa_key.kid)  # same kid, a key the IdP never published
    good = idp.token()
    header, payload, _ = good.split(".")
    cases = {  # name: (token, what the error detail must say)
        "expired": (idp.token(exp=1_000_000_000, iat=999_999_000, nbf=999_999_000), "expired"),
        "not yet valid": (idp.token(nbf=4_000_000_000), "not valid yet"),
        "wrong issuer": (idp.token(iss="https://evil.example/"), "issuer"),
        "wrong audience": (idp.token(aud="someone-else"), "audience"),
        "wrong key": (idp.token(impostor), "signature"),
        "alg none": (f"{b64({'alg': 'none', 'kid': rsa_key.kid})}.{payload}.", "algorithm"),
        "HS256 with the public key": (forged_hs256(idp), "algorithm"),
        "unknown kid": (idp.token(IdpKey("RS256")), "key id"),
        "truncated": (good[:-10], "signature"),
        "garbage": ("not-a-token-at-all-0123456789", "not active"),
        "missing exp": (idp.token(exp=None), "claim"),
        "client not allowed": (idp.token(azp="other-client", sub="other-client"), "not allowed"),
        "three dots garbage": ("a.b.c", "well-formed"),
        "header only": (f"{header}..", "well-formed"),
    }
    for name, (token, says) in cases.items():
        status, body = await push(oauth_ingress, token)
        assert status == 401, (name, body)
        assert body["error"] == "invalid_token", (name, body)
        assert says in body["detail"], (name, body)
    assert await oauth_ingress.total_published() == 0


def _hs256_with(secret: bytes, header_alg: str, claims: dict[str, Any], kid: str) -> str:
    """The signature part of an HS256 JWT whose HMAC secret is the IdP's public key PEM: the
    classic algorithm-confusion forgery."""
    import hashlib
    import hmac

    signing_input = f"{b64({'alg': header_alg, 'typ': 'JWT', 'kid': kid})}.{b64(claims)}"
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def forged_hs256(idp: IdentityProvider) -> str:
    key = idp.keys[0]
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{b64(idp.claims())}"
    return signing_input + "." + _hs256_with(key.public_pem(), "HS256", idp.claims(), key.kid)


async def test_hs256_forgery_with_public_key_is_refused(
    oauth_ingress: Ingress, idp: IdentityProvider
) -> None:
    status, body = await push(oauth_ingress, forged_hs256(idp))
    assert (status, body["error"]) == (401, "invalid_token")
    assert "algorithm" in body["detail"]
    assert await oauth_ingress.total_published() == 0


async def test_key_rotation_is_picked_up(oauth_ingress: Ingress, idp: IdentityProvider) -> None:
    assert (await push(oauth_ingress, idp.token()))[0] == 200
    rotated = IdpKey("RS256")
    idp.keys = [rotated]
    status, _ = await push(oauth_ingress, idp.token(rotated))
    assert status == 200
    status, _ = await push(oauth_ingress, idp.token(IdpKey("RS256", kid="old")))
    assert status == 401


async def test_jwks_outage_accepts_nothing_unverified(
    make_ingress: IngressFactory, idp: IdentityProvider
) -> None:
    ingress = await make_ingress(tenants=oauth_tenants(idp))
    idp.down = True
    status, body = await push(ingress, idp.token())
    assert status == 503
    assert body["error"] == "identity_provider_unavailable"
    idp.down = False
    assert (await push(ingress, idp.token()))[0] == 200
    assert await ingress.total_published() == 1


async def test_unknown_kid_refetches_at_most_once_per_interval(
    make_ingress: IngressFactory, idp: IdentityProvider
) -> None:
    ingress = await make_ingress(tenants=oauth_tenants(idp))  # default: 30 s between refetches
    assert (await push(ingress, idp.token()))[0] == 200
    fetched = idp.jwks_fetches
    for _ in range(5):
        assert (await push(ingress, idp.token(IdpKey("RS256"))))[0] == 401
    assert idp.jwks_fetches == fetched


async def test_opaque_tokens_by_introspection(
    oauth_ingress: Ingress, idp: IdentityProvider
) -> None:
    active = idp.opaque_token()
    assert (await push(oauth_ingress, active))[0] == 200
    assert (await push(oauth_ingress, active))[0] == 200  # cached
    assert (await push(oauth_ingress, idp.opaque_token(active=False)))[0] == 401
    assert (await push(oauth_ingress, idp.opaque_token(client_id="stranger")))[0] == 401
    assert (await push(oauth_ingress, "unknown-opaque-token-012345"))[0] == 401
    assert await oauth_ingress.total_published() == 2


async def test_oauth_client_cannot_publish_for_another_tenant(
    oauth_ingress: Ingress, idp: IdentityProvider
) -> None:
    resp = await oauth_ingress.post_push(
        p.direct_push([p.activity()], munchkin=p.SANDBOX), token=idp.token()
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "tenant_mismatch"
    assert await oauth_ingress.total_published() == 0


@pytest.fixture
async def two_idps() -> AsyncIterator[tuple[IdentityProvider, IdentityProvider]]:
    first, second = IdentityProvider(), IdentityProvider()
    servers = [await serve(first), await serve(second)]
    yield first, second
    for server in servers:
        await server.close()


def introspected_tenant(munchkin: str, idp: IdentityProvider, client: str) -> Tenant:
    oauth = OAuthSettings(
        issuer=idp.issuer,
        audience=AUDIENCE,
        client_ids=(client,),
        introspection_url=idp.base_url + "/introspect",
        introspection_client_id=INTROSPECTION_CLIENT[0],
        introspection_client_secret=Secret(INTROSPECTION_CLIENT[1]),
    )
    return Tenant(munchkin, (), None, oauth)


async def test_an_opaque_token_goes_only_to_the_named_tenants_idp(
    make_ingress: IngressFactory, two_idps: tuple[IdentityProvider, IdentityProvider]
) -> None:
    idp_a, idp_b = two_idps
    ingress = await make_ingress(
        tenants=(
            introspected_tenant(p.MUNCHKIN, idp_a, CLIENT_ID),
            introspected_tenant(OTHER_MUNCHKIN, idp_b, "other-push-client"),
        )
    )
    token_b = idp_b.opaque_token(client_id="other-push-client")
    push_b = p.direct_push([p.activity()], munchkin=OTHER_MUNCHKIN)
    status, body = await answer(await ingress.post_push(push_b, token=token_b))
    assert (status, body) == (200, {"accepted": 1, "deadlettered": 0})
    assert idp_a.introspected == [], "tenant A's identity provider saw tenant B's token"
    assert idp_b.introspected == [token_b]

    # Naming tenant A with B's token asks A's IdP only (which does not know it): refused.
    status, body = await answer(await ingress.post_push(p.direct_push([p.activity()]), token_b))
    assert (status, body["error"]) == (401, "invalid_token")
    assert idp_b.introspected == [token_b]

    # A delivery that names no tenant is never introspected anywhere.
    status, body = await answer(await ingress.post_push([p.activity()], token=token_b))
    assert (status, body["error"]) == (401, "invalid_token")
    assert "names no munchkinId" in body["detail"]
    assert len(idp_a.introspected) + len(idp_b.introspected) == 2


async def test_unknown_kids_at_once_fetch_the_jwks_once(make_ingress: IngressFactory) -> None:
    idp = IdentityProvider()
    server = await serve(idp)
    try:
        oauth = OAuthSettings(issuer=idp.issuer, audience=AUDIENCE, client_ids=(CLIENT_ID,))
        ingress = await make_ingress(
            tenants=(Tenant(p.MUNCHKIN, (ApiToken.from_plain(TOKEN),), None, oauth),),
            oauth=OAuthClientSettings(jwks_min_refetch_s=0.0),
        )
        forged = [idp.token(IdpKey("RS256")) for _ in range(40)]
        answers = await asyncio.gather(*(ingress.post_push(b"{}", token=t) for t in forged))
        assert {r.status for r in answers} == {401}
        assert idp.jwks_fetches == 1
    finally:
        await server.close()
