"""Who may publish: tenant tokens for the direct push, recipient client ids for Adobe I/O.

A static token or an OAuth client belongs to one munchkin ID. An Adobe recipient client id
belongs to one Adobe org, which may hold several Marketo instances (production and sandbox share
one registration), so it maps to the set of munchkin IDs configured with it. Each is turned into
a ``Principal``; ``ingest.gate`` then refuses a delivery whose content names a munchkin ID outside
its principal's set.

Tokens are visible ASCII (RFC 6750's token68 and any configured static token are): anything else,
the surrogates aiohttp makes of non-UTF-8 header bytes included, is refused before it is hashed.
"""

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from ingest.errors import InvalidToken, MissingCredentials, WrongRecipient, shorten
from ingest.gate import Principal
from ingest.oauth import OAuthVerifier
from ingest.tenant_settings import Tenant

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class TenantDirectory:
    token_digests: tuple[tuple[bytes, str], ...]
    munchkins_by_client: dict[str, frozenset[str]]
    tenants: frozenset[str] = frozenset()  # every configured munchkin ID
    # Each recipient client's principal, made once rather than for every event it receives.
    principals_by_client: dict[str, Principal] = field(default_factory=dict)

    @classmethod
    def from_tenants(cls, tenants: Iterable[Tenant]) -> "TenantDirectory":
        tenants = tuple(tenants)
        by_client: dict[str, set[str]] = {}
        for t in tenants:
            if t.adobe_client_id:
                by_client.setdefault(t.adobe_client_id, set()).add(t.munchkin_id)
        return cls(
            token_digests=tuple(
                (tok.digest, t.munchkin_id) for t in tenants for tok in t.api_tokens
            ),
            munchkins_by_client={k: frozenset(v) for k, v in by_client.items()},
            tenants=frozenset(t.munchkin_id for t in tenants),
            principals_by_client={
                k: Principal.adobe(k, frozenset(v)) for k, v in by_client.items()
            },
        )


def presented_token(authorization: str | None) -> str:
    """The token of ``Authorization: Bearer <token>`` or of a bare ``Authorization: <token>``."""
    if not authorization or not authorization.strip():
        raise MissingCredentials("the Authorization header is missing or empty")
    scheme, _, rest = authorization.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        token = rest.strip()
    elif rest:
        raise InvalidToken("the Authorization header must be 'Bearer <token>' or the bare token")
    else:
        token = scheme
    if not _VISIBLE_ASCII.fullmatch(token):
        raise InvalidToken("the token holds characters other than visible ASCII")
    return token


def static_tenant(token: str, directory: TenantDirectory) -> str | None:
    """The munchkin ID a static token belongs to. Compares every digest in constant time, so
    the time taken says nothing about which token (or how much of one) matched."""
    digest = _digest(token)
    match = None
    for known, munchkin in directory.token_digests:
        if hmac.compare_digest(known, digest):
            match = munchkin
    return match


async def principal_for_push(
    authorization: str | None,
    directory: TenantDirectory,
    oauth: OAuthVerifier,
    named: Callable[[], Awaitable[str | None]],
) -> Principal:
    """Who sent a direct push: a static token, else an OAuth token. ``named`` gives the munchkin
    ID the delivery names; it is asked only for an opaque token, which is introspected at that
    tenant's identity provider and nowhere else."""
    token = presented_token(authorization)
    munchkin = static_tenant(token, directory)
    if munchkin is None and oauth.enabled:
        munchkin = await oauth.tenant_for(token, named)
    if munchkin is None:
        raise InvalidToken("the token is not valid for any tenant")
    return Principal.push(munchkin)


def principal_for_recipient(
    recipient: str | None, index: int, directory: TenantDirectory
) -> Principal:
    """The principal of one Adobe event: its recipient client id's munchkin IDs; 403 unless the
    recipient is a configured client."""
    if recipient is None:
        raise WrongRecipient(f"event {index} has no recipientclientid")
    principal = directory.principals_by_client.get(recipient)
    if principal is None:
        raise WrongRecipient(
            f"event {index} is for recipient {shorten(recipient)}, not a configured client"
        )
    return principal
